import CourierCore
import Foundation
import Logging
import SQLKit

/// Seals the metadata of rows stored before it was sealed at rest (schema version 9): phone numbers,
/// e-mail addresses and bios of accounts, names of chats, descriptions of channels, each with its
/// blind index where it has one. Runs once when a node opens the store, before it serves; rows are
/// done a batch at a time, each only if it is still unsealed, so nodes starting together do no harm.
public struct MetadataSealer: Sendable {
    let engine: any DatabaseEngine
    let keyring: Keyring
    let logger: Logger

    public init(store: Store, logger: Logger) {
        self.engine = store.engine
        self.keyring = store.keyring
        self.logger = logger
    }

    static let batch = 500

    /// Seals every unsealed row; returns how many there were.
    @discardableResult
    public func sealOlderRows() async throws -> Int {
        let total = try await sealUsers() + sealChats() + sealChannels()
        guard total > 0 else { return 0 }
        try await discardOldVersions()
        logger.notice("sealed the metadata of rows stored before it was encrypted at rest", metadata: ["rows": "\(total)"])
        return total
    }

    /// The plaintext versions of the rows just sealed stay in the database's free space (SQLite's
    /// free pages and WAL, PostgreSQL's dead tuples) until overwritten: rewrite the tables once so
    /// a copy of the disk does not keep them.
    private func discardOldVersions() async throws {
        try await engine.read { sql in
            switch engine.kind {
            case .sqlite:
                try await sql.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
                try await sql.raw("VACUUM").run()
                try await sql.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
            case .postgres:
                try await sql.raw("VACUUM FULL users, chats, channels").run()
            }
        }
    }

    private func sealUsers() async throws -> Int {
        var done = 0
        while true {
            let rows = try await engine.read { sql in
                try await sql.raw("SELECT id, phone, email, bio FROM users WHERE metadata_sealed = 0 LIMIT \(bind: Self.batch)").all()
            }
            guard !rows.isEmpty else { return done }
            for row in rows {
                let id = try row.decode(column: "id", as: UUID.self)
                let phone = try row.decode(column: "phone", as: String.self)
                let email = try row.decode(column: "email", as: String?.self)
                let bio = try row.decode(column: "bio", as: String?.self)
                let sealedPhone = try await keyring.seal(phone, UserStore.context(id, "phone"))
                let phoneIndex = try await keyring.blindIndex(phone, field: "phone")
                let sealedEmail = try await keyring.seal(email, UserStore.context(id, "email"))
                let emailIndex = try await email.asyncMap { try await keyring.blindIndex($0, field: "email") }
                let sealedBio = try await keyring.seal(bio, UserStore.context(id, "bio"))
                try await engine.write { sql in
                    try await sql.raw("""
                        UPDATE users SET phone = \(bind: sealedPhone), phone_index = \(bind: phoneIndex), email = \(bind: sealedEmail),
                            email_index = \(bind: emailIndex), bio = \(bind: sealedBio), metadata_sealed = 1
                        WHERE id = \(bind: id) AND metadata_sealed = 0
                        """).run()
                }
                done += 1
            }
        }
    }

    private func sealChats() async throws -> Int {
        var done = 0
        while true {
            let rows = try await engine.read { sql in
                try await sql.raw("SELECT id, name FROM chats WHERE metadata_sealed = 0 LIMIT \(bind: Self.batch)").all()
            }
            guard !rows.isEmpty else { return done }
            for row in rows {
                let id = try row.decode(column: "id", as: UUID.self)
                let name = try await keyring.seal(try row.decode(column: "name", as: String?.self), ChatStore.nameContext(id))
                try await engine.write { sql in
                    try await sql.raw("UPDATE chats SET name = \(bind: name), metadata_sealed = 1 WHERE id = \(bind: id) AND metadata_sealed = 0").run()
                }
                done += 1
            }
        }
    }

    private func sealChannels() async throws -> Int {
        var done = 0
        while true {
            let rows = try await engine.read { sql in
                try await sql.raw("SELECT id, description FROM channels WHERE metadata_sealed = 0 LIMIT \(bind: Self.batch)").all()
            }
            guard !rows.isEmpty else { return done }
            for row in rows {
                let id = try row.decode(column: "id", as: UUID.self)
                let description = try await keyring.seal(try row.decode(column: "description", as: String?.self), ChatStore.descriptionContext(id))
                try await engine.write { sql in
                    try await sql.raw("""
                        UPDATE channels SET description = \(bind: description), metadata_sealed = 1 WHERE id = \(bind: id) AND metadata_sealed = 0
                        """).run()
                }
                done += 1
            }
        }
    }
}

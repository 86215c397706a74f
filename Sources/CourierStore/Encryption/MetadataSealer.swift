import CourierCore
import Foundation
import Logging
import SQLKit

/// Seals the metadata of rows stored before it was sealed at rest (schema version 9): phone numbers,
/// e-mail addresses and bios of accounts, names of chats, descriptions of channels, each with its
/// blind index where it has one. Runs when a node opens the store, before it serves: a batch of rows
/// per transaction, in id order, each row only if it is still unsealed, so nodes starting together
/// do no harm. Then, once (a task recorded by the migration, cleared only when done), the tables are
/// rewritten so the plaintext versions do not stay in the database's free space.
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
    static let vacuumTask = "metadata_vacuum"

    /// Seals every unsealed row, then does the pending rewrite; returns how many rows it sealed.
    @discardableResult
    public func sealOlderRows() async throws -> Int {
        let total = try await sealUsers() + sealChats() + sealChannels()
        if total > 0 { logger.notice("sealed the metadata of rows stored before it was encrypted at rest", metadata: ["rows": "\(total)"]) }
        try await discardOldVersionsIfPending()
        return total
    }

    /// The plaintext versions of sealed rows stay in free space (SQLite's free pages and WAL,
    /// PostgreSQL's dead tuples) until overwritten. SQLite: `VACUUM` rewrites the file (it needs
    /// free disk about the database's size). PostgreSQL: a plain `VACUUM`, which does not block the
    /// other nodes; the README says how to go further (`VACUUM FULL`, WAL archives, replicas).
    private func discardOldVersionsIfPending() async throws {
        let pending = try await engine.read { sql in
            try await sql.raw("SELECT name FROM maintenance_tasks WHERE name = \(bind: Self.vacuumTask)").first() != nil
        }
        guard pending else { return }
        try await engine.read { sql in
            switch engine.kind {
            case .sqlite:
                try await sql.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
                try await sql.raw("VACUUM").run()
                try await sql.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
            case .postgres:
                try await sql.raw("VACUUM users, chats, channels").run()
            }
        }
        try await engine.write { sql in
            try await sql.raw("DELETE FROM maintenance_tasks WHERE name = \(bind: Self.vacuumTask)").run()
        }
    }

    /// A value written by this version already (a row an older node inserted and a newer one
    /// edited): sealing it again would show clients ciphertext.
    private func alreadySealed(_ value: String?, _ context: Keyring.FieldContext) async -> Bool {
        guard let value, value.hasPrefix(Keyring.prefix) else { return false }
        return (try? await keyring.open(value, context)) != nil
    }

    /// A stored value as it should be stored now, and its plain text (for a blind index): one
    /// this version sealed already is kept, a plain one is sealed.
    private func sealed(_ value: String?, _ context: Keyring.FieldContext) async throws -> (stored: String?, plain: String?) {
        if await alreadySealed(value, context) { return (value, try await keyring.open(value, context)) }
        return (try await keyring.seal(value, context), value)
    }

    private func sealUsers() async throws -> Int {
        var done = 0
        var after: UUID?
        while true {
            let rows = try await engine.read { [after] sql in
                try await sql.raw("""
                    SELECT id, phone, email, bio FROM users WHERE metadata_sealed = 0 AND \(Self.idAfter(after))
                    ORDER BY id LIMIT \(bind: Self.batch)
                    """).all()
            }
            guard let last = rows.last else { return done }
            var updates: [SQLQueryString] = []
            for row in rows {
                let id = try row.decode(column: "id", as: UUID.self)
                let phone = try await sealed(try row.decode(column: "phone", as: String.self), UserStore.context(id, "phone"))
                let email = try await sealed(try row.decode(column: "email", as: String?.self), UserStore.context(id, "email"))
                let sealedPhone = phone.stored
                let phoneIndex = try await keyring.blindIndex(phone.plain ?? "", field: "phone")
                let sealedEmail = email.stored
                let emailIndex = try await email.plain.asyncMap { try await keyring.blindIndex($0, field: "email") }
                let sealedBio = try await sealed(try row.decode(column: "bio", as: String?.self), UserStore.context(id, "bio")).stored
                updates.append("""
                    UPDATE users SET phone = \(bind: sealedPhone), phone_index = \(bind: phoneIndex), email = \(bind: sealedEmail),
                        email_index = \(bind: emailIndex), bio = \(bind: sealedBio), metadata_sealed = 1
                    WHERE id = \(bind: id) AND metadata_sealed = 0
                    """)
            }
            do {
                try await engine.write { [updates] sql in for update in updates { try await sql.raw(update).run() } }
            } catch where UniqueViolation(error) != nil {
                throw KeyringError(
                    "Two accounts have the same phone number or e-mail address (in the batch after \(after.map(\.uuidString) ?? "the first")), which an older courier let in while this version's schema was in place. Change one of them with SQL, then start again."
                )
            }
            done += rows.count
            after = try last.decode(column: "id", as: UUID.self)
        }
    }

    private func sealChats() async throws -> Int {
        try await sealColumn(table: "chats", column: "name") { ChatStore.nameContext($0) }
    }

    private func sealChannels() async throws -> Int {
        try await sealColumn(table: "channels", column: "description") { ChatStore.descriptionContext($0) }
    }

    /// Seals one optional text column of a table, a batch per transaction.
    private func sealColumn(table: String, column: String, context: @escaping @Sendable (UUID) -> Keyring.FieldContext) async throws -> Int {
        var done = 0
        var after: UUID?
        while true {
            let rows = try await engine.read { [after] sql in
                try await sql.raw("""
                    SELECT id, \(unsafeRaw: column) AS value FROM \(unsafeRaw: table)
                    WHERE metadata_sealed = 0 AND \(Self.idAfter(after)) ORDER BY id LIMIT \(bind: Self.batch)
                    """).all()
            }
            guard let last = rows.last else { return done }
            var updates: [SQLQueryString] = []
            for row in rows {
                let id = try row.decode(column: "id", as: UUID.self)
                let value = try await sealed(try row.decode(column: "value", as: String?.self), context(id)).stored
                updates.append("""
                    UPDATE \(unsafeRaw: table) SET \(unsafeRaw: column) = \(bind: value), metadata_sealed = 1 WHERE id = \(bind: id) AND metadata_sealed = 0
                    """)
            }
            try await engine.write { [updates] sql in for update in updates { try await sql.raw(update).run() } }
            done += rows.count
            after = try last.decode(column: "id", as: UUID.self)
        }
    }

    /// `id > after` for keyset paging, bound as ids are stored.
    private static func idAfter(_ after: UUID?) -> SQLQueryString {
        guard let after else { return "1 = 1" }
        return "id > \(bind: after)"
    }
}

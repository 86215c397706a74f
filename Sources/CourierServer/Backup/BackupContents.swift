import CourierCore
import CourierStore
import Foundation
import SQLKit

/// What a database snapshot holds: rows per table and the media chunks it names, read inside the
/// snapshot itself so the archive's media match its database exactly.
struct BackupContents: Sendable {
    /// A blob the snapshot names, and how many chunks of it there are.
    struct Blob: Sendable {
        let name: String
        let chunks: Int
        /// Ready media must have every chunk; an upload in progress has those it received.
        let complete: Bool
    }

    var counts: [String: Int] = [:]
    var schemaVersion = 0
    var blobs: [Blob] = []

    /// The tables whose rows the manifest counts (and a restore is compared by).
    static let countedTables = [
        "users", "sessions", "chats", "chat_members", "messages", "chat_updates", "account_updates", "media", "media_blobs",
        "message_reactions", "pinned_messages", "data_keys", "audit_log",
    ]

    static func read(_ sql: any SQLDatabase) async throws -> BackupContents {
        var contents = BackupContents()
        for table in countedTables {
            contents.counts[table] = try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(column: "n", as: Int.self) ?? 0
        }
        contents.schemaVersion = try await sql.raw("SELECT MAX(version) AS v FROM schema_migrations").first()?.decode(column: "v", as: Int?.self) ?? 0
        for row in try await sql.raw("SELECT blob_id, size FROM media_blobs ORDER BY blob_id").all() {
            let size = try row.decode(column: "size", as: Int64.self)
            contents.blobs.append(Blob(
                name: try row.decode(column: "blob_id", as: UUID.self).lowercasedString,
                chunks: MediaCipher.chunkCount(size: size), complete: true
            ))
        }
        // An upload in progress keeps its received chunks under the media's own id.
        for row in try await sql.raw("SELECT id, received FROM media WHERE state = 'uploading' AND received > 0 ORDER BY id").all() {
            let received = try row.decode(column: "received", as: Int64.self)
            contents.blobs.append(Blob(
                name: try row.decode(column: "id", as: UUID.self).lowercasedString,
                chunks: MediaCipher.chunkCount(size: received), complete: false
            ))
        }
        return contents
    }
}

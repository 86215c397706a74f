import CourierCore
import Crypto
import Foundation
import SQLKit

/// Media files: uploads in progress, finished media with their stored forms, and which messages
/// carry them. Bytes live in a `BlobStore`; this is their bookkeeping, with each file's key and
/// description sealed by the keyring (a dump of the database shows sizes and times, never names,
/// types, hashes or content).
public struct MediaStore: Sendable {
    let engine: any DatabaseEngine
    let keyring: Keyring

    public init(engine: any DatabaseEngine, keyring: Keyring) {
        self.engine = engine
        self.keyring = keyring
    }

    public enum State: String, Sendable {
        case uploading, ready
    }

    /// The sealed description of a file: what clients see, and the hash its uploader declared.
    public struct Info: Sendable, Codable, Equatable {
        public var attachment: MediaAttachment
        public var sha256: String

        public init(attachment: MediaAttachment, sha256: String) {
            self.attachment = attachment
            self.sha256 = sha256
        }
    }

    /// One stored form of a file.
    public struct Blob: Sendable, Equatable {
        public let variant: String
        public let blobID: UUID
        public let size: Int64

        public init(variant: String, blobID: UUID, size: Int64) {
            self.variant = variant
            self.blobID = blobID
            self.size = size
        }
    }

    /// A media row, opened.
    public struct Record: Sendable {
        public let id: UUID
        public let ownerID: UUID
        public let state: State
        public let kind: MediaKind
        public let size: Int64
        public let received: Int64
        public let fileKey: SymmetricKey
        public let info: Info
        public let createdAt: Timestamp
        public let expiresAt: Timestamp?
        public let blobs: [Blob]

        public func blob(_ variant: String) -> Blob? { blobs.first { $0.variant == variant } }
    }

    // MARK: Uploads

    /// Why an upload cannot be created.
    public enum CreateRefusal: Error, Sendable, Equatable {
        case quotaExceeded(used: Int64)
        case tooManyPending
    }

    /// Creates an upload of `info.attachment.size` bytes for `ownerID` if their stored and pending
    /// bytes stay within `quota`. The check and the insert are one transaction that first locks
    /// the owner's row, so two uploads at once cannot both slip under the quota.
    public func createUpload(ownerID: UUID, info: Info, quota: Int64, at time: Timestamp, expiresAt: Timestamp) async throws -> Record {
        let id = UUID.random()
        var info = info
        info.attachment.id = id.lowercasedString
        let key = SymmetricKey(size: .bits256)
        let sealedKey = try await sealKey(key, id: id)
        let sealedInfo = try await sealInfo(info, id: id)
        let size = info.attachment.size
        let kind = info.attachment.kind
        try await engine.write { sql in
            try await sql.raw("UPDATE users SET updated_at = updated_at WHERE id = \(bind: ownerID)").run()
            let usage = try await sql.raw("""
                SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used,
                    CAST(COALESCE(SUM(CASE WHEN state = 'uploading' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending
                FROM media WHERE owner_id = \(bind: ownerID)
                """).first()
            let used = try usage?.decode(column: "used", as: Int64.self) ?? 0
            let pending = try usage?.decode(column: "pending", as: Int64.self) ?? 0
            guard pending < MediaLimits.maxPendingUploads else { throw CreateRefusal.tooManyPending }
            guard used + size <= quota else { throw CreateRefusal.quotaExceeded(used: used) }
            try await sql.raw("""
                INSERT INTO media (id, owner_id, state, kind, size, received, chunk_size, file_key, info, created_at, expires_at)
                VALUES (\(bind: id), \(bind: ownerID), 'uploading', \(bind: kind.rawValue), \(bind: size), 0,
                        \(bind: MediaCipher.chunkSize), \(bind: sealedKey), \(bind: sealedInfo), \(bind: time.milliseconds),
                        \(bind: expiresAt.milliseconds))
                """).run()
        }
        return Record(
            id: id, ownerID: ownerID, state: .uploading, kind: kind, size: size, received: 0, fileKey: key, info: info,
            createdAt: time, expiresAt: expiresAt, blobs: []
        )
    }

    /// Moves an upload's durable offset from `old` to `new`; false when it was not at `old` (another
    /// request moved it, or it finished or expired).
    public func advance(_ id: UUID, from old: Int64, to new: Int64) async throws -> Bool {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE media SET received = \(bind: new)
                WHERE id = \(bind: id) AND state = 'uploading' AND received = \(bind: old)
                RETURNING id
                """).first() != nil
        }
    }

    /// Marks an upload ready with its processed description and stored forms; false when it was
    /// no longer an upload in progress.
    public func complete(
        _ id: UUID, info: Info, blobs: [Blob], pendingWork: String?, at time: Timestamp
    ) async throws -> Bool {
        let sealedInfo = try await sealInfo(info, id: id)
        return try await engine.write { sql in
            guard try await sql.raw("""
                UPDATE media SET state = 'ready', info = \(bind: sealedInfo), completed_at = \(bind: time.milliseconds),
                    expires_at = NULL, pending_work = \(bind: pendingWork)
                WHERE id = \(bind: id) AND state = 'uploading'
                RETURNING id
                """).first() != nil
            else { return false }
            for blob in blobs {
                try await sql.raw("""
                    INSERT INTO media_blobs (media_id, variant, blob_id, size)
                    VALUES (\(bind: id), \(bind: blob.variant), \(bind: blob.blobID), \(bind: blob.size))
                    """).run()
            }
            return true
        }
    }

    /// Adds a form made later (a video's 720p variant) and clears the pending work.
    public func addVariant(_ id: UUID, blob: Blob, info: Info) async throws {
        let sealedInfo = try await sealInfo(info, id: id)
        try await engine.write { sql in
            try await sql.raw("""
                INSERT INTO media_blobs (media_id, variant, blob_id, size)
                VALUES (\(bind: id), \(bind: blob.variant), \(bind: blob.blobID), \(bind: blob.size))
                """).run()
            try await sql.raw("UPDATE media SET info = \(bind: sealedInfo), pending_work = NULL WHERE id = \(bind: id)").run()
        }
    }

    /// Clears pending work that cannot be done (the file could not be transcoded).
    public func clearPendingWork(_ id: UUID) async throws {
        try await engine.write { sql in
            try await sql.raw("UPDATE media SET pending_work = NULL WHERE id = \(bind: id)").run()
        }
    }

    /// Ready media with background work still to do, oldest first.
    public func pendingWork(limit: Int) async throws -> [UUID] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT id FROM media WHERE state = 'ready' AND pending_work IS NOT NULL ORDER BY completed_at LIMIT \(bind: limit)
                """).all().map { try $0.decode(column: "id", as: UUID.self) }
        }
    }

    /// The media row, opened; nil when there is none.
    public func record(_ id: UUID) async throws -> Record? {
        let found = try await engine.read { sql -> (row: any SQLRow, blobs: [Blob])? in
            guard let row = try await sql.raw("""
                SELECT id, owner_id, state, kind, size, received, file_key, info, created_at, expires_at FROM media WHERE id = \(bind: id)
                """).first()
            else { return nil }
            let blobs = try await sql.raw("SELECT variant, blob_id, size FROM media_blobs WHERE media_id = \(bind: id)").all().map {
                Blob(variant: try $0.decode(column: "variant", as: String.self), blobID: try $0.decode(column: "blob_id", as: UUID.self),
                     size: try $0.decode(column: "size", as: Int64.self))
            }
            return (row, blobs)
        }
        guard let found else { return nil }
        let row = found.row
        return Record(
            id: id, ownerID: try row.decode(column: "owner_id", as: UUID.self),
            state: try row.decodeEnum(column: "state", as: State.self),
            kind: try row.decodeEnum(column: "kind", as: MediaKind.self),
            size: try row.decode(column: "size", as: Int64.self), received: try row.decode(column: "received", as: Int64.self),
            fileKey: try await openKey(try row.decode(column: "file_key", as: String.self), id: id),
            info: try await openInfo(try row.decode(column: "info", as: String.self), id: id),
            createdAt: try row.decodeTimestamp(column: "created_at"),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(Timestamp.init(milliseconds:)),
            blobs: found.blobs
        )
    }

    /// Removes a media row (its blobs must be gone first: the caller deletes them).
    public func delete(_ id: UUID) async throws {
        try await engine.write { sql in
            try await sql.raw("DELETE FROM media WHERE id = \(bind: id)").run()
        }
    }

    // MARK: Access

    /// Whether `userID` may see media `id`: its uploader, or a member of a chat where a message
    /// not deleted for everyone carries it.
    public func canAccess(_ id: UUID, userID: UUID) async throws -> Bool {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT 1 AS present FROM media WHERE id = \(bind: id) AND owner_id = \(bind: userID)
                UNION ALL
                SELECT 1 AS present FROM message_media mm
                JOIN chat_members cm ON cm.chat_id = mm.chat_id AND cm.user_id = \(bind: userID)
                WHERE mm.media_id = \(bind: id) AND mm.deleted_at IS NULL
                LIMIT 1
                """).first() != nil
        }
    }

    /// Which of `ids` a message in `chatID` not deleted for everyone carries (a forward may carry
    /// those on into another chat).
    public func carried(_ ids: [UUID], inChat chatID: UUID) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        return try await engine.read { sql in
            Set(try await sql.raw("""
                SELECT DISTINCT media_id FROM message_media WHERE chat_id = \(bind: chatID) AND deleted_at IS NULL AND media_id IN (\(anyOf: ids))
                """).all().map { try $0.decode(column: "media_id", as: UUID.self) })
        }
    }

    /// Bytes `ownerID` stores and has reserved for uploads in progress.
    public func usage(ownerID: UUID) async throws -> Int64 {
        try await engine.read { sql in
            try await sql.raw("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used FROM media WHERE owner_id = \(bind: ownerID)").first()?
                .decode(column: "used", as: Int64.self) ?? 0
        }
    }

    // MARK: Messages (inside their transactions)

    /// Records that `message` carries `media` (in the message's transaction).
    static func attach(_ media: [MediaAttachment], to message: Message, on sql: any SQLDatabase) async throws {
        for (position, item) in media.enumerated() {
            guard let mediaID = UUID(uuidString: item.id) else { continue }
            try await sql.raw("""
                INSERT INTO message_media (message_id, media_id, chat_id, position)
                VALUES (\(bind: message.id), \(bind: mediaID), \(bind: message.chatID), \(bind: position))
                """).run()
        }
    }

    /// Marks a message's media references deleted (in its delete-for-everyone transaction).
    static func detach(messageID: UUID, at time: Timestamp, on sql: any SQLDatabase) async throws {
        try await sql.raw("UPDATE message_media SET deleted_at = \(bind: time.milliseconds) WHERE message_id = \(bind: messageID)").run()
    }

    // MARK: Garbage collection

    /// Media to remove at `now`: uploads past their expiry; finished media no message ever
    /// carried, `unreferencedAfter` after completion; media whose every message was deleted for
    /// everyone longer than `deletedAfter` ago.
    public func collectable(now: Timestamp, unreferencedAfter: Duration, deletedAfter: Duration, limit: Int) async throws -> [UUID] {
        let unreferencedBefore = now.milliseconds - unreferencedAfter.milliseconds
        let deletedBefore = now.milliseconds - deletedAfter.milliseconds
        return try await engine.read { sql in
            try await sql.raw("""
                SELECT id FROM media WHERE state = 'uploading' AND expires_at < \(bind: now.milliseconds)
                UNION
                SELECT m.id FROM media m WHERE m.state = 'ready' AND m.completed_at < \(bind: unreferencedBefore)
                    AND NOT EXISTS (SELECT 1 FROM message_media mm WHERE mm.media_id = m.id)
                UNION
                SELECT mm.media_id AS id FROM message_media mm GROUP BY mm.media_id
                    HAVING COUNT(*) = COUNT(mm.deleted_at) AND MAX(mm.deleted_at) < \(bind: deletedBefore)
                LIMIT \(bind: limit)
                """).all().map { try $0.decode(column: "id", as: UUID.self) }
        }
    }

    // MARK: Sealing

    private func sealKey(_ key: SymmetricKey, id: UUID) async throws -> String {
        let encoded = key.withUnsafeBytes { Data($0).base64EncodedString() }
        return try await keyring.seal(encoded, context(id, "file_key")) ?? ""
    }

    private func openKey(_ sealed: String, id: UUID) async throws -> SymmetricKey {
        guard let opened = try await keyring.open(sealed, context(id, "file_key")), let data = Data(base64Encoded: opened), data.count == 32 else {
            throw Keyring.integrityError
        }
        return SymmetricKey(data: data)
    }

    private func sealInfo(_ info: Info, id: UUID) async throws -> String {
        try await keyring.seal(try jsonText(info), context(id, "info")) ?? ""
    }

    private func openInfo(_ sealed: String, id: UUID) async throws -> Info {
        guard let opened = try await keyring.open(sealed, context(id, "info")),
              let info = try? JSONDecoder().decode(Info.self, from: Data(opened.utf8))
        else { throw Keyring.integrityError }
        return info
    }

    private func context(_ id: UUID, _ field: String) -> Keyring.FieldContext {
        .init(table: "media", rowID: id, scope: .media, field: field)
    }
}

import Foundation

/// The last frame of a backup archive: what it holds, so that a restore or `backup verify` can
/// tell it is whole, and a person can see what the backup contains.
public struct BackupManifest: Codable, Sendable, Equatable {
    /// A file of the archive (the database, a key file), with its size and SHA-256.
    public struct Entry: Codable, Sendable, Equatable {
        public var path: String
        public var size: Int64
        public var sha256: String
    }

    /// The media chunks, summed up: they can number millions, so they are counted and hashed
    /// together (SHA-256 over "path sha256\n" of each, in archive order) instead of listed.
    public struct Media: Codable, Sendable, Equatable {
        public var chunks: Int
        public var bytes: Int64
        public var sha256: String
        /// Chunks the database named that were gone by the time they were read (media deleted
        /// after the snapshot); a restore has no use for them either.
        public var missingChunks: Int

        enum CodingKeys: String, CodingKey {
            case chunks, bytes, sha256
            case missingChunks = "missing_chunks"
        }
    }

    public var formatVersion: Int
    public var createdAt: Int64
    public var engine: String
    public var schemaVersion: Int
    /// Rows per table in the database snapshot.
    public var counts: [String: Int]
    public var entries: [Entry]
    public var media: Media

    enum CodingKeys: String, CodingKey {
        case entries, media, counts, engine
        case formatVersion = "format_version"
        case createdAt = "created_at"
        case schemaVersion = "schema_version"
    }
}

import Foundation

/// Where things go inside an archive.
enum BackupLayout {
    static let sqliteDatabase = "database/courier.sqlite"
    static let postgresDump = "database/postgres.dump"
    static let masterKey = "keys/master.key"
    /// A small file of the data folder (the JWT secret, the audit anchors).
    static func dataFile(_ name: String) -> String { "files/" + name }
    static func mediaChunk(blob: String, index: Int) -> String { "media/\(blob)/\(index)" }

    static func isMedia(_ path: String) -> Bool { path.hasPrefix("media/") }

    /// Whether this version knows what to do with an entry.
    static func isKnown(_ path: String) -> Bool {
        [sqliteDatabase, postgresDump, masterKey].contains(path) || mediaChunk(path) != nil || dataFileName(path) != nil
    }

    /// The blob and chunk of a media entry; nil for anything else or a malformed one.
    static func mediaChunk(_ path: String) -> (blob: String, index: Int)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "media", UUID(uuidString: String(parts[1])) != nil, let index = Int(parts[2]), index >= 0 else {
            return nil
        }
        return (String(parts[1]), index)
    }

    /// The data-folder file name of a `files/` entry; nil when it is not a plain name (no folders,
    /// nothing hidden), so an archive can never write outside the target folder.
    static func dataFileName(_ path: String) -> String? {
        guard path.hasPrefix("files/") else { return nil }
        let name = String(path.dropFirst("files/".count))
        // The lock file belongs to the folder, not to its data.
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/"), name.utf8.count <= 128, name != "courier.lock" else { return nil }
        return name
    }
}

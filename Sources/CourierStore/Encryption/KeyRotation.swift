import CourierCore
import Foundation
import SQLKit

/// `courier keys rotate` and `courier keys status`.
public enum KeyRotation {
    /// What `keys status` shows: each master version and how many data keys it wraps.
    public struct Status: Sendable {
        public let current: Int
        public let versions: [(version: Int, createdAt: String, dataKeys: Int)]
    }

    public static func status(keyFile path: String, engine: any DatabaseEngine) async throws -> Status {
        _ = try await Keyring.open(keyFile: path, engine: engine)
        guard let file = try MasterKeyFile.load(path: path) else { throw KeyringError("No master key file at \(path).") }
        let counts = try await engine.read { sql in
            try await sql.raw("SELECT master_version, COUNT(*) AS n FROM data_keys GROUP BY master_version").all()
                .map { (try $0.decode(column: "master_version", as: Int.self), try $0.decode(column: "n", as: Int.self)) }
        }
        let byVersion = Dictionary(uniqueKeysWithValues: counts)
        return Status(current: file.current, versions: file.entries.map { ($0.version, $0.createdAt, byVersion[$0.version] ?? 0) })
    }

    /// Adds a master key version and re-wraps every data key with it, in one transaction.
    /// Older versions stay in the file, so backups made before stay readable. Returns the new
    /// version and how many data keys were re-wrapped.
    public static func rotate(keyFile path: String, engine: any DatabaseEngine) async throws -> (version: Int, rewrapped: Int) {
        let before = try await Keyring.open(keyFile: path, engine: engine)
        guard var file = try MasterKeyFile.load(path: path) else { throw KeyringError("No master key file at \(path).") }
        file.addVersion()
        // The new key is on disk before any data key depends on it.
        try file.save()
        let keyring = Keyring(masterKeys: file.keys, currentVersion: file.current, engine: engine)
        let version = file.current
        let count = try await engine.write { sql in
            let rows = try await sql.raw("SELECT id, wrapped_key, master_version FROM data_keys").all()
            for row in rows {
                let id = try row.decode(column: "id", as: UUID.self)
                let key = try before.unwrap(
                    try row.decode(column: "wrapped_key", as: String.self), id: id, version: try row.decode(column: "master_version", as: Int.self)
                )
                let wrapped = try keyring.wrap(key, id: id, version: version)
                try await sql.raw("""
                    UPDATE data_keys SET wrapped_key = \(bind: wrapped), master_version = \(bind: version) WHERE id = \(bind: id)
                    """).run()
            }
            return rows.count
        }
        return (version, count)
    }
}

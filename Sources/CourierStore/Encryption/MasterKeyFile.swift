import Crypto
import CourierCore
import Foundation

/// The owner's master keys, kept in a file apart from the database (mode 0600).
///
/// Versions accumulate: rotation adds one and makes it current, and older versions stay so that
/// every backup remains readable. Losing this file makes the encrypted content unreadable; back it up
/// separately from the database.
public struct MasterKeyFile: Sendable {
    public struct Entry: Codable, Sendable {
        public let version: Int
        public let key: String
        public let createdAt: String

        enum CodingKeys: String, CodingKey {
            case version, key
            case createdAt = "created_at"
        }
    }

    private struct Contents: Codable {
        var current: Int
        var keys: [Entry]
    }

    public let path: String
    public private(set) var current: Int
    public private(set) var entries: [Entry]

    /// The key of each version.
    public var keys: [Int: SymmetricKey] {
        Dictionary(uniqueKeysWithValues: entries.compactMap { entry in
            Data(base64Encoded: entry.key).map { (entry.version, SymmetricKey(data: $0)) }
        })
    }

    /// Reads the file; nil when it does not exist.
    public static func load(path: String) throws -> MasterKeyFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        // A key file left readable by others (an older install, a copy) is narrowed before it is used.
        _ = try? PrivateFile.narrowIfPresent(path)
        guard let data = FileManager.default.contents(atPath: path),
              let contents = try? JSONDecoder().decode(Contents.self, from: data),
              contents.keys.contains(where: { $0.version == contents.current }),
              contents.keys.allSatisfy({ Data(base64Encoded: $0.key)?.count == 32 })
        else {
            throw KeyringError("The master key file \(path) is not a valid Courier key file.")
        }
        return MasterKeyFile(path: path, current: contents.current, entries: contents.keys)
    }

    /// Creates a file with a first, random key.
    public static func create(path: String) throws -> MasterKeyFile {
        var file = MasterKeyFile(path: path, current: 0, entries: [])
        file.addVersion()
        try file.save(creating: true)
        return file
    }

    /// Adds a new random version and makes it current (call `save` to keep it).
    public mutating func addVersion() {
        let version = (entries.map(\.version).max() ?? 0) + 1
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
        entries.append(Entry(version: version, key: key, createdAt: Timestamp.now().description))
        current = version
    }

    /// Writes the file atomically, readable by its owner only. With `creating`, refuses to replace one.
    public func save(creating: Bool = false) throws {
        if creating, FileManager.default.fileExists(atPath: path) {
            throw KeyringError("The master key file \(path) already exists.")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Contents(current: current, keys: entries))
        do {
            // 0600 from the first byte, replaced in one step.
            if creating { try PrivateFile.create(at: path, contents: data) } else { try PrivateFile.replace(at: path, contents: data) }
        } catch {
            throw KeyringError("Cannot write the master key file: \(error)")
        }
    }
}

/// A key problem that stops the server from starting, explained for the operator.
public struct KeyringError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

import Crypto
import Foundation

/// The newest audit entry this node wrote, kept in a file outside the database and sealed with the
/// audit key: deleting the newest entries of the log, or rolling the whole table back to an older
/// copy, leaves the log without the entry the anchor names, which `AuditStore.verify` reports.
///
/// On several nodes each keeps its own anchor (in its data folder), each naming the newest entry
/// that node wrote.
public actor AuditAnchor {
    /// What the file holds.
    struct Contents: Codable, Equatable {
        var seq: Int64
        var hash: String
        var keyVersion: Int
        var mac: String

        enum CodingKeys: String, CodingKey {
            case seq, hash, mac
            case keyVersion = "key_version"
        }
    }

    public nonisolated let path: String
    private var newestWritten: Int64 = 0

    public init(path: String) {
        self.path = path
    }

    /// Records entry `seq` with `hash` as the newest, unless a newer one was recorded already
    /// (appends commit in order but may reach here out of order).
    func record(seq: Int64, hash: String, keyVersion: Int, key: SymmetricKey) throws {
        guard seq > newestWritten else { return }
        let contents = Contents(seq: seq, hash: hash, keyVersion: keyVersion, mac: Self.mac(seq: seq, hash: hash, key: key))
        try PrivateFile.replace(at: path, contents: try JSONEncoder().encode(contents))
        newestWritten = seq
    }

    /// The anchor in the file, nil when there is none; throws when the file is not an anchor.
    nonisolated func read() throws -> Contents? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw AuditAnchorError(path: path) }
        do {
            return try JSONDecoder().decode(Contents.self, from: data)
        } catch {
            throw AuditAnchorError(path: path)
        }
    }

    static func mac(seq: Int64, hash: String, key: SymmetricKey) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("courier/audit-anchor/\(seq)/\(hash)".utf8), using: key)
        return Data(code).map { String(format: "%02x", $0) }.joined()
    }
}

/// The audit anchor file is there but is not one.
public struct AuditAnchorError: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "The audit anchor \(path) is unreadable." }
}

import Crypto
import Foundation
import NIOPosix

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
    /// The newest entry recorded, from the file when this process has not written yet.
    private var newest: Contents?
    private var loaded = false
    /// The anchor waiting to be written, and whether a write is under way.
    private var pending: Contents?
    private var writing = false
    /// The log was found cut below the anchor: it never moves again in this process.
    private var cut = false

    public init(path: String) {
        self.path = path
    }

    /// Records entry `seq` (sealed `hash`, chained to `previousHash`) as the newest.
    ///
    /// An anchor never moves back, and never onto a chain that does not continue the one it names:
    /// appends commit in order but may reach here out of order (an older one is ignored), while an
    /// entry right after the anchored one that does not link to it means the log was cut and written
    /// again, which `AuditLogBehindAnchor` reports and the anchor keeps as evidence.
    ///
    /// `anchoredIntact` tells whether the log, when this entry was appended, still held the entry
    /// the anchor named (`current()`, read before the append) with the same seal.
    func record(
        seq: Int64, hash: String, previousHash: String, keyVersion: Int, key: SymmetricKey, anchoredIntact: Bool
    ) async throws {
        _ = try current()
        if let newest {
            if cut || !anchoredIntact || (seq == newest.seq + 1 && previousHash != newest.hash) {
                cut = true
                throw AuditLogBehindAnchor(anchored: newest.seq, appended: seq)
            }
            guard seq > newest.seq else { return }
        }
        let contents = Contents(seq: seq, hash: hash, keyVersion: keyVersion, mac: Self.mac(seq: seq, hash: hash, key: key))
        newest = contents
        pending = contents
        // One write at a time, the newest last: while a write is under way (the actor takes other
        // calls meanwhile), later anchors wait in `pending` and the writer picks up the newest.
        guard !writing else { return }
        writing = true
        defer { writing = false }
        while let next = pending {
            pending = nil
            let data = try JSONEncoder().encode(next)
            let path = self.path
            // File work (and its fsync) runs on NIO's thread pool, not on the threads that run tasks.
            try await NIOThreadPool.singleton.runIfActive { try PrivateFile.replace(at: path, contents: data) }
        }
    }

    /// The newest anchor (the file's, until this process records one).
    func current() throws -> Contents? {
        if !loaded {
            newest = try read()
            loaded = true
        }
        return newest
    }

    /// Where a node marks that it went through the upgrade to the keyed log, beside the anchor:
    /// from then on no unkeyed entry is ever sealed on it, whatever the database says.
    public nonisolated var upgradeMarkerPath: String { path + "-keyed" }

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

/// An audit entry was appended that does not continue the entry the anchor names: entries were
/// removed and the log written again from there.
public struct AuditLogBehindAnchor: Error, CustomStringConvertible {
    public let anchored: Int64
    public let appended: Int64
    public var description: String {
        "Audit entry \(appended) does not follow entry \(anchored) named by the anchor: entries were removed. Run `courier audit verify`."
    }
}

/// The audit anchor file is there but is not one.
public struct AuditAnchorError: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "The audit anchor \(path) is unreadable." }
}

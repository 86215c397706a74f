import CourierCore
import Crypto
import Foundation
import SQLKit

/// The append-only audit log, each entry sealed with a key from the keyring and chained to the one
/// before it.
///
/// An entry's `hash` is an HMAC-SHA256, under a key derived from a master key version, of its fields
/// and the previous entry's `hash`. Changing, removing, reordering or re-chaining entries therefore
/// needs the key file, not only write access to the database; and an anchor outside the database
/// (`AuditAnchor`) names the newest entry, so removing the newest entries is seen too.
public struct AuditStore: Sendable {
    let engine: any DatabaseEngine
    let keyring: Keyring
    /// Where this node keeps its anchor, if it keeps one.
    public let anchor: AuditAnchor?

    /// - Parameter anchor: where this node keeps its anchor; nil keeps none (truncation then goes unseen).
    public init(engine: any DatabaseEngine, keyring: Keyring, anchor: AuditAnchor?) {
        self.engine = engine
        self.keyring = keyring
        self.anchor = anchor
    }

    /// The hash before the first entry.
    static let genesis = String(repeating: "0", count: 64)
    private static let columns = "seq, id, occurred_at, actor_id, subject_id, action, outcome, ip_address, details, prev_hash, hash, key_version"

    /// An event to record.
    public struct Event: Sendable {
        public var actorID: UUID?
        public var subjectID: UUID?
        public var action: String
        public var outcome: AuditEntry.Outcome
        public var ipAddress: String?
        public var details: [String: String]

        public init(
            action: String, outcome: AuditEntry.Outcome = .success, actorID: UUID? = nil, subjectID: UUID? = nil,
            ipAddress: String? = nil, details: [String: String] = [:]
        ) {
            self.action = action
            self.outcome = outcome
            self.actorID = actorID
            self.subjectID = subjectID ?? actorID
            self.ipAddress = ipAddress
            self.details = details
        }
    }

    /// Appends an entry chained to the last one and moves the anchor to it. Appends are serialised
    /// (one writer on SQLite, an advisory lock on PostgreSQL), so the chain never forks.
    @discardableResult
    public func append(_ event: Event, at time: Timestamp = .now()) async throws -> AuditEntry {
        let kind = engine.kind
        keyring.refreshMasterKeys()
        let version = keyring.currentVersion
        guard let key = keyring.auditKey(version: version) else { throw KeyringError("No master key version \(version).") }
        let anchored = try await anchor?.current()
        let (entry, anchoredIntact) = try await engine.write { sql -> (AuditEntry, Bool) in
            if kind == .postgres {
                try await AdvisoryLock.audit.acquireForTransaction(sql)
            }
            // Whether the log still holds the entry the anchor names: a cut below it is never papered over.
            var anchoredIntact = true
            if let anchored {
                let held = try await sql.raw("SELECT hash FROM audit_log WHERE seq = \(bind: anchored.seq)").first()?
                    .decode(column: "hash", as: String.self)
                anchoredIntact = held == anchored.hash
            }
            let last = try await sql.raw("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").first()
            let seq = (try last?.decode(column: "seq", as: Int64.self) ?? 0) + 1
            let previous = try last?.decode(column: "hash", as: String.self) ?? Self.genesis
            var entry = AuditEntry(
                seq: seq, id: UUID.random(), occurredAt: time, actorID: event.actorID, subjectID: event.subjectID, action: event.action,
                outcome: event.outcome, ipAddress: event.ipAddress, details: event.details, previousHash: previous, hash: ""
            )
            entry.hash = Self.seal(entry, key: key)
            try await sql.raw("""
                INSERT INTO audit_log (\(unsafeRaw: Self.columns))
                VALUES (\(bind: seq), \(bind: entry.id), \(bind: time.milliseconds), \(bind: entry.actorID), \(bind: entry.subjectID),
                        \(bind: entry.action), \(bind: entry.outcome.rawValue), \(bind: entry.ipAddress), \(bind: Self.detailsText(entry.details)),
                        \(bind: previous), \(bind: entry.hash), \(bind: version))
                """).run()
            return (entry, anchoredIntact)
        }
        // After the commit: the anchor never names an entry the log does not have.
        try await anchor?.record(
            seq: entry.seq, hash: entry.hash, previousHash: entry.previousHash, keyVersion: version, key: key, anchoredIntact: anchoredIntact
        )
        return entry
    }

    /// Seals the entries written before the log was keyed (key version 0, plain SHA-256): once, on
    /// the first start after the upgrade, and only those the upgrade found (`audit_unsealed`), only
    /// when their plain chain is intact and nothing was written after them, and only on a node that
    /// has not been through the upgrade yet: it leaves a marker file beside its anchor the first time
    /// it starts, whether or not there was anything to seal, and a node with the marker or an anchor
    /// never seals again. Entries that someone later rewrites as version 0 (and a planted
    /// `audit_unsealed` row) are therefore never sealed: they stay broken for `verify`, also after an
    /// operator moves the anchor aside. Returns how many it sealed.
    @discardableResult
    public func sealUnkeyedEntries() async throws -> Int {
        keyring.refreshMasterKeys()
        let version = keyring.currentVersion
        guard let key = keyring.auditKey(version: version) else { throw KeyringError("No master key version \(version).") }
        guard let anchor else { return 0 }
        if try anchor.read() != nil || FileManager.default.fileExists(atPath: anchor.upgradeMarkerPath) { return 0 }

        let kind = engine.kind
        let sealed = try await engine.write { sql -> AuditEntry? in
            if kind == .postgres {
                try await AdvisoryLock.audit.acquireForTransaction(sql)
            }
            guard let head = try await sql.raw("SELECT head FROM audit_unsealed").first()?.decode(column: "head", as: Int64.self) else {
                return nil
            }
            try await sql.raw("DELETE FROM audit_unsealed").run()
            let rows = try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM audit_log ORDER BY seq").all()
            var plainPrevious = Self.genesis
            var previous = Self.genesis
            var entries: [AuditEntry] = []
            for row in rows {
                var (entry, entryVersion) = try Self.entry(from: row)
                guard entryVersion == 0, entry.seq == Int64(entries.count + 1), entry.seq <= head, entry.previousHash == plainPrevious,
                      Self.plainHash(of: entry) == entry.hash
                else { return nil }
                plainPrevious = entry.hash
                entry.previousHash = previous
                entry.hash = Self.seal(entry, key: key)
                previous = entry.hash
                entries.append(entry)
            }
            guard Int64(entries.count) == head else { return nil }
            for entry in entries {
                try await sql.raw("""
                    UPDATE audit_log SET prev_hash = \(bind: entry.previousHash), hash = \(bind: entry.hash), key_version = \(bind: version)
                    WHERE seq = \(bind: entry.seq)
                    """).run()
            }
            return entries.last
        }
        // This node is through the upgrade now, whatever there was to seal.
        try PrivateFile.create(at: anchor.upgradeMarkerPath, contents: Data("keyed audit log\n".utf8))
        guard let newest = sealed else { return 0 }
        try await anchor.record(
            seq: newest.seq, hash: newest.hash, previousHash: newest.previousHash, keyVersion: version, key: key, anchoredIntact: true
        )
        return Int(newest.seq)
    }

    /// Whether the log still holds the entry this node's anchor names (a quick check at start; `verify`
    /// checks everything).
    public func checkAnchor() async throws -> AnchorCheck {
        guard let anchor else { return .notKept }
        guard let anchored = try anchor.read() else { return .missing }
        let hash = try await engine.read { sql in
            try await sql.raw("SELECT hash FROM audit_log WHERE seq = \(bind: anchored.seq)").first()?.decode(column: "hash", as: String.self)
        }
        return check(anchored, against: hash.map { [anchored.seq: $0] } ?? [:])
    }

    /// Entries, newest first; only those about `subjectID` when given.
    public func entries(about subjectID: UUID?, limit: Int, before seq: Int64?) async throws -> [AuditEntry] {
        try await engine.read { sql in
            let subject: SQLQueryString = subjectID.map { "AND subject_id = \(bind: $0)" } ?? ""
            let cursor: SQLQueryString = seq.map { "AND seq < \(bind: $0)" } ?? ""
            return try await sql.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM audit_log WHERE 1 = 1 \(subject) \(cursor) ORDER BY seq DESC LIMIT \(bind: limit)
                """).all().map { try Self.entry(from: $0).0 }
        }
    }

    /// The result of checking the log.
    public struct Verification: Sendable, Equatable {
        public let entries: Int
        /// The first entry whose seal or link does not match, if any.
        public let firstBrokenSeq: Int64?
        /// What the anchor outside the database says.
        public let anchor: AnchorCheck

        public init(entries: Int, firstBrokenSeq: Int64?, anchor: AnchorCheck) {
            self.entries = entries
            self.firstBrokenSeq = firstBrokenSeq
            self.anchor = anchor
        }

        /// Nothing was changed, removed or reordered, as far as the checks reach.
        public var isIntact: Bool {
            guard firstBrokenSeq == nil else { return false }
            switch anchor {
            case .matches, .notKept, .missing: return true
            case .mismatch, .forged: return false
            }
        }
    }

    /// The anchor's verdict.
    public enum AnchorCheck: Sendable, Equatable {
        /// The log holds the entry the anchor names, with the same seal.
        case matches(seq: Int64)
        /// The anchor names entry `seq`, which the log does not hold with that seal: the newest
        /// entries were removed, or the log was replaced by an older or another copy.
        case mismatch(seq: Int64)
        /// The anchor's own seal is wrong: it was changed.
        case forged
        /// No anchor file (this node never wrote an entry, or the file was removed): removal of
        /// the newest entries cannot be checked.
        case missing
        /// This store keeps no anchor.
        case notKept
    }

    /// Recomputes every seal in order, checks each link, and checks the anchor.
    public func verify() async throws -> Verification {
        var previous = Self.genesis
        var expectedSeq: Int64 = 1
        var count = 0
        var after: Int64 = 0
        var hashes: [Int64: String] = [:]
        let anchored = try anchor?.read()
        while true {
            let from = after
            let page = try await engine.read { sql in
                try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM audit_log WHERE seq > \(bind: from) ORDER BY seq LIMIT 1000")
                    .all().map(Self.entry(from:))
            }
            if page.isEmpty { break }
            for (entry, version) in page {
                guard entry.seq == expectedSeq, entry.previousHash == previous, let key = keyring.auditKey(version: version),
                      Self.seal(entry, key: key) == entry.hash
                else {
                    return Verification(entries: count, firstBrokenSeq: entry.seq, anchor: check(anchored, against: hashes))
                }
                if entry.seq == anchored?.seq { hashes[entry.seq] = entry.hash }
                previous = entry.hash
                expectedSeq += 1
                count += 1
                after = entry.seq
            }
        }
        return Verification(entries: count, firstBrokenSeq: nil, anchor: check(anchored, against: hashes))
    }

    private func check(_ anchored: AuditAnchor.Contents?, against hashes: [Int64: String]) -> AnchorCheck {
        guard anchor != nil else { return .notKept }
        guard let anchored else { return .missing }
        guard let key = keyring.auditKey(version: anchored.keyVersion),
              AuditAnchor.mac(seq: anchored.seq, hash: anchored.hash, key: key) == anchored.mac
        else { return .forged }
        return hashes[anchored.seq] == anchored.hash ? .matches(seq: anchored.seq) : .mismatch(seq: anchored.seq)
    }

    /// The seal of an entry: HMAC-SHA256 under the audit key of its fields and the previous seal.
    static func seal(_ entry: AuditEntry, key: SymmetricKey) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: canonicalFields(of: entry), using: key)
        return Data(code).map { String(format: "%02x", $0) }.joined()
    }

    /// The hash entries had before the log was keyed, for sealing them.
    static func plainHash(of entry: AuditEntry) -> String {
        SHA256.hash(data: canonicalFields(of: entry)).map { String(format: "%02x", $0) }.joined()
    }

    private static func canonicalFields(of entry: AuditEntry) -> Data {
        let fields: [String] = [
            String(entry.seq), entry.id.lowercasedString, String(entry.occurredAt.milliseconds),
            entry.actorID?.lowercasedString ?? "", entry.subjectID?.lowercasedString ?? "", entry.action,
            entry.outcome.rawValue, entry.ipAddress ?? "", detailsText(entry.details), entry.previousHash,
        ]
        return Data(fields.joined(separator: "\u{1F}").utf8)
    }

    /// Details as canonical JSON (sorted keys), the form that is stored and hashed.
    static func detailsText(_ details: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? String(decoding: encoder.encode(details), as: UTF8.self)) ?? "{}"
    }

    private static func entry(from row: any SQLRow) throws -> (AuditEntry, keyVersion: Int) {
        let details = try row.decode(column: "details", as: String?.self) ?? "{}"
        let entry = AuditEntry(
            seq: try row.decode(column: "seq", as: Int64.self),
            id: try row.decode(column: "id", as: UUID.self),
            occurredAt: try row.decodeTimestamp(column: "occurred_at"),
            actorID: try row.decode(column: "actor_id", as: UUID?.self),
            subjectID: try row.decode(column: "subject_id", as: UUID?.self),
            action: try row.decode(column: "action", as: String.self),
            outcome: try row.decodeEnum(column: "outcome", as: AuditEntry.Outcome.self),
            ipAddress: try row.decode(column: "ip_address", as: String?.self),
            details: (try? JSONDecoder().decode([String: String].self, from: Data(details.utf8))) ?? [:],
            previousHash: try row.decode(column: "prev_hash", as: String.self),
            hash: try row.decode(column: "hash", as: String.self)
        )
        return (entry, try row.decode(column: "key_version", as: Int.self))
    }
}

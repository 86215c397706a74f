import CourierCore
import Crypto
import Foundation
import SQLKit

/// The append-only, hash-chained audit log.
public struct AuditStore: Sendable {
    let engine: any DatabaseEngine

    public init(engine: any DatabaseEngine) { self.engine = engine }

    /// The hash before the first entry.
    static let genesis = String(repeating: "0", count: 64)
    private static let columns = "seq, id, occurred_at, actor_id, subject_id, action, outcome, ip_address, details, prev_hash, hash"

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

    /// Appends an entry chained to the last one. Appends are serialised (one writer on SQLite, an
    /// advisory lock on PostgreSQL), so the chain never forks.
    @discardableResult
    public func append(_ event: Event, at time: Timestamp = .now()) async throws -> AuditEntry {
        let kind = engine.kind
        return try await engine.write { sql in
            if kind == .postgres {
                try await sql.raw("SELECT pg_advisory_xact_lock(1131377011)").run()
            }
            let last = try await sql.raw("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").first()
            let seq = (try last?.decode(column: "seq", as: Int64.self) ?? 0) + 1
            let previous = try last?.decode(column: "hash", as: String.self) ?? Self.genesis
            var entry = AuditEntry(
                seq: seq, id: UUID(), occurredAt: time, actorID: event.actorID, subjectID: event.subjectID, action: event.action,
                outcome: event.outcome, ipAddress: event.ipAddress, details: event.details, previousHash: previous, hash: ""
            )
            entry.hash = Self.hash(of: entry)
            try await sql.raw("""
                INSERT INTO audit_log (\(unsafeRaw: Self.columns))
                VALUES (\(bind: seq), \(bind: entry.id), \(bind: time.milliseconds), \(bind: entry.actorID), \(bind: entry.subjectID),
                        \(bind: entry.action), \(bind: entry.outcome.rawValue), \(bind: entry.ipAddress), \(bind: Self.detailsText(entry.details)),
                        \(bind: previous), \(bind: entry.hash))
                """).run()
            return entry
        }
    }

    /// Entries, newest first; only those about `subjectID` when given.
    public func entries(about subjectID: UUID?, limit: Int, before seq: Int64?) async throws -> [AuditEntry] {
        try await engine.read { sql in
            let subject: SQLQueryString = subjectID.map { "AND subject_id = \(bind: $0)" } ?? ""
            let cursor: SQLQueryString = seq.map { "AND seq < \(bind: $0)" } ?? ""
            return try await sql.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM audit_log WHERE 1 = 1 \(subject) \(cursor) ORDER BY seq DESC LIMIT \(bind: limit)
                """).all().map(Self.entry(from:))
        }
    }

    /// The result of checking the chain.
    public struct Verification: Sendable, Equatable {
        public let entries: Int
        /// The first entry whose hash or link does not match, if any.
        public let firstBrokenSeq: Int64?

        public init(entries: Int, firstBrokenSeq: Int64?) {
            self.entries = entries
            self.firstBrokenSeq = firstBrokenSeq
        }
    }

    /// Recomputes every hash in order and checks each link.
    public func verify() async throws -> Verification {
        var previous = Self.genesis
        var expectedSeq: Int64 = 1
        var count = 0
        var after: Int64 = 0
        while true {
            let from = after
            let page = try await engine.read { sql in
                try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM audit_log WHERE seq > \(bind: from) ORDER BY seq LIMIT 1000")
                    .all().map(Self.entry(from:))
            }
            if page.isEmpty { break }
            for entry in page {
                guard entry.seq == expectedSeq, entry.previousHash == previous, Self.hash(of: entry) == entry.hash else {
                    return Verification(entries: count, firstBrokenSeq: entry.seq)
                }
                previous = entry.hash
                expectedSeq += 1
                count += 1
                after = entry.seq
            }
        }
        return Verification(entries: count, firstBrokenSeq: nil)
    }

    static func hash(of entry: AuditEntry) -> String {
        let fields: [String] = [
            String(entry.seq), entry.id.uuidString.lowercased(), String(entry.occurredAt.milliseconds),
            entry.actorID?.uuidString.lowercased() ?? "", entry.subjectID?.uuidString.lowercased() ?? "", entry.action,
            entry.outcome.rawValue, entry.ipAddress ?? "", detailsText(entry.details), entry.previousHash,
        ]
        let digest = SHA256.hash(data: Data(fields.joined(separator: "\u{1F}").utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Details as canonical JSON (sorted keys), the form that is stored and hashed.
    static func detailsText(_ details: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? String(decoding: encoder.encode(details), as: UTF8.self)) ?? "{}"
    }

    private static func entry(from row: any SQLRow) throws -> AuditEntry {
        let details = try row.decode(column: "details", as: String?.self) ?? "{}"
        return AuditEntry(
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
    }
}

import CourierCore
import Foundation
import SQLKit

/// Finds messages by their words through the keyed-hash index (`SearchIndex`), newest first.
///
/// A query is looked up chat by chat (each chat hashes words under its own key): per chat, an index
/// range on the query's most telling term, newest `seq` first, with the other terms checked on the
/// index too, joined to the message; the chats' newest candidates are merged, decrypted and
/// confirmed against the query (`SearchText.Query.matches`).
public struct MessageSearch: Sendable {
    let engine: any DatabaseEngine
    let cipher: MessageCipher
    let index: SearchIndex

    public init(engine: any DatabaseEngine, cipher: MessageCipher) {
        self.engine = engine
        self.cipher = cipher
        self.index = SearchIndex(keyring: cipher.keyring)
    }

    /// Where a page of results ends: the last hit's time and id (results are ordered by both,
    /// newest first). As text, `<milliseconds>_<id>`.
    public struct Cursor: Sendable, Equatable, CustomStringConvertible {
        public let createdAt: Timestamp
        public let id: UUID

        public init(createdAt: Timestamp, id: UUID) {
            self.createdAt = createdAt
            self.id = id
        }

        public init?(_ text: String) {
            let parts = text.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count <= 16, let milliseconds = Int64(parts[0]), milliseconds >= 0,
                  parts[1].utf8.count == 36, let id = UUID(uuidString: String(parts[1]))
            else { return nil }
            self.init(createdAt: Timestamp(milliseconds: milliseconds), id: id)
        }

        public var description: String { "\(createdAt.milliseconds)_\(id.uuidString.lowercased())" }
    }

    public struct Hit: Sendable {
        public let message: Message
        /// The text around the first matching word.
        public let snippet: String
    }

    public struct Page: Sendable {
        public let hits: [Hit]
        /// Where the next page starts; nil when there are no more.
        public let next: Cursor?
    }

    /// Chats one statement looks up at most (SQLite allows 500 parts in a compound SELECT).
    static let chatsPerStatement = 100
    /// Rounds of candidates a page reads at most when many fail the check; the page then ends
    /// short, with a cursor to go on from.
    static let maxRounds = 5
    /// Candidates one round reads at most.
    static let maxBatch = 2000

    /// The newest messages in `chatIDs` matching `query` that `viewerID` sees, older than `before`.
    public func search(
        _ query: SearchText.Query, in chatIDs: [UUID], for viewerID: UUID, before: Cursor?, limit: Int
    ) async throws -> Page {
        let tokens = query.tokens
        var lookups: [(chatID: UUID, hashes: [Int64])] = []
        for chatID in chatIDs {
            if let hashes = try await index.lookups(tokens, in: chatID) { lookups.append((chatID, hashes)) }
        }
        // The rarest term drives the index range, the others are checked on each of its entries.
        let driving = try await rarestTerm(of: tokens.count, in: lookups)
        var hits: [Hit] = []
        var cursor = before
        // When candidates fail the check (a typed prefix longer than the index keeps), each round
        // reads four times as many as the last.
        var batch = limit + 1
        for _ in 0..<Self.maxRounds {
            let candidates = try await rows(ids: try await candidates(lookups, driving: driving, for: viewerID, before: cursor, limit: batch))
            for row in candidates {
                let message = try await cipher.message(from: row)
                if query.matches(message.content) {
                    if hits.count == limit { return Page(hits: hits, next: cursor) }
                    hits.append(Hit(message: message, snippet: query.snippet(of: message.content)))
                }
                cursor = Cursor(createdAt: message.createdAt, id: message.id)
            }
            if candidates.count < batch { return Page(hits: hits, next: nil) }
            batch = min(batch * 4, Self.maxBatch)
        }
        return Page(hits: hits, next: cursor)
    }

    /// How many entries of a term are counted at most when choosing which one drives a query.
    static let termProbeLimit = 50_000

    /// The term with the fewest index entries over the chats, counting each up to `termProbeLimit`
    /// (one index range per term: a common word stops at the cap, a rare one is counted whole).
    private func rarestTerm(of count: Int, in lookups: [(chatID: UUID, hashes: [Int64])]) async throws -> Int {
        guard count > 1, !lookups.isEmpty else { return 0 }
        var best = (term: 0, entries: Int.max)
        for term in 0..<count {
            let hashes = lookups.prefix(Self.chatsPerStatement * 5).map { $0.hashes[term] }
            let entries = try await engine.read { sql in
                try await sql.raw("""
                    SELECT COUNT(*) AS n FROM (SELECT 1 FROM search_tokens WHERE token IN (\(binds: hashes)) LIMIT \(bind: Self.termProbeLimit)) probe
                    """).first()?.decode(column: "n", as: Int.self) ?? 0
            }
            if entries < best.entries { best = (term, entries) }
        }
        return best.term
    }

    /// The ids of the newest `limit` messages over all chats whose index entries match every
    /// term, newest first. Only ids and times cross the union; whole rows are read for the few kept.
    private func candidates(
        _ lookups: [(chatID: UUID, hashes: [Int64])], driving: Int, for viewerID: UUID, before: Cursor?, limit: Int
    ) async throws -> [UUID] {
        var found: [(createdAt: Int64, id: UUID)] = []
        for start in stride(from: 0, to: lookups.count, by: Self.chatsPerStatement) {
            let part = lookups[start..<min(start + Self.chatsPerStatement, lookups.count)]
            let branches: [SQLQueryString] = part.enumerated().map { number, lookup in
                branch(lookup, driving: driving, for: viewerID, before: before, limit: limit, alias: "b\(number)")
            }
            let rows = try await engine.read { sql in
                try await sql.raw("""
                    \(branches.joined(separator: " UNION ALL ")) ORDER BY created_at DESC, id DESC LIMIT \(bind: limit)
                    """).all()
            }
            for row in rows {
                found.append((try row.decode(column: "created_at", as: Int64.self), try row.decode(column: "id", as: UUID.self)))
            }
        }
        found.sort { ($0.createdAt, $0.id.uuidString) > ($1.createdAt, $1.id.uuidString) }
        return found.prefix(limit).map(\.id)
    }

    /// The message rows with these ids, in the same order.
    private func rows(ids: [UUID]) async throws -> [any SQLRow] {
        guard !ids.isEmpty else { return [] }
        let rows = try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Message.columns) FROM messages WHERE id IN (\(binds: ids))").all()
        }
        var byID: [UUID: any SQLRow] = [:]
        for row in rows { byID[try row.decode(column: "id", as: UUID.self)] = row }
        return ids.compactMap { byID[$0] }
    }

    private func branch(
        _ lookup: (chatID: UUID, hashes: [Int64]), driving: Int, for viewerID: UUID, before: Cursor?, limit: Int, alias: String
    ) -> SQLQueryString {
        var conditions: [SQLQueryString] = [
            "t.token = \(bind: lookup.hashes[driving])", "m.deleted_at IS NULL",
            "NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = \(bind: viewerID) AND h.message_id = m.id)",
        ]
        for (term, hash) in lookup.hashes.enumerated() where term != driving {
            conditions.append("EXISTS (SELECT 1 FROM search_tokens e WHERE e.token = \(bind: hash) AND e.seq = t.seq)")
        }
        if let before {
            conditions.append("""
                (m.created_at < \(bind: before.createdAt.milliseconds) OR (m.created_at = \(bind: before.createdAt.milliseconds) AND m.id < \(bind: before.id)))
                """)
        }
        return """
            SELECT * FROM (
                SELECT m.id AS id, m.created_at AS created_at FROM search_tokens t
                JOIN messages m ON m.chat_id = \(bind: lookup.chatID) AND m.seq = t.seq
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY t.seq DESC LIMIT \(bind: limit)
            ) \(unsafeRaw: alias)
            """
    }

    /// Indexes a batch of the messages stored before the index existed (migration 6 listed their
    /// chats in `search_backfill`, with the `seq` the chat had reached); later messages were
    /// indexed as they were stored. Returns how many messages it looked at: 0 when none are left.
    public func backfill(batch: Int = 500) async throws -> Int {
        try await engine.write { sql in
            guard let pending = try await sql.raw("SELECT chat_id, indexed_up_to, until_seq FROM search_backfill LIMIT 1").first() else { return 0 }
            let chatID = try pending.decode(column: "chat_id", as: UUID.self)
            let from = try pending.decode(column: "indexed_up_to", as: Int64.self)
            let until = try pending.decode(column: "until_seq", as: Int64.self)
            // PostgreSQL: an edit waits until these rows are indexed (SQLite's write transaction holds the database).
            let lock = sql.dialect.name == "sqlite" ? "" : "FOR UPDATE"
            let rows = try await sql.raw("""
                SELECT \(unsafeRaw: Message.columns) FROM messages
                WHERE chat_id = \(bind: chatID) AND seq > \(bind: from) AND seq <= \(bind: until) AND deleted_at IS NULL
                ORDER BY seq LIMIT \(bind: batch) \(unsafeRaw: lock)
                """).all()
            var entries: [(token: Int64, seq: Int64)] = []
            for row in rows {
                let message = try await cipher.message(from: row)
                entries += try await index.entries(of: message.content, in: chatID).map { ($0, message.seq) }
            }
            try await SearchIndex.add(entries, on: sql)
            if rows.count < batch {
                try await sql.raw("DELETE FROM search_backfill WHERE chat_id = \(bind: chatID)").run()
            } else {
                try await sql.raw("UPDATE search_backfill SET indexed_up_to = \(bind: rows.last!.decode(column: "seq", as: Int64.self)) WHERE chat_id = \(bind: chatID)").run()
            }
            return max(rows.count, 1)
        }
    }
}

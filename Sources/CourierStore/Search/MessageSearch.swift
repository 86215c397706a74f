import CourierCore
import Foundation
import SQLKit

/// Finds messages by their words through the keyed-hash index (`SearchIndex`), newest first.
///
/// A query is looked up chat by chat (each chat hashes words under its own key): per chat, the
/// messages whose entries hold every term, newest `seq` first (on SQLite one FTS5 query over the
/// chat's rowid range; on PostgreSQL an index range on the query's most telling term, with the
/// other terms checked on the index), joined to the message; the chats' newest candidates are
/// merged, decrypted and confirmed against the query (`SearchText.Query.matches`).
public struct MessageSearch: Sendable {
    let engine: any DatabaseEngine
    let cipher: MessageCipher
    let index: SearchIndex

    public init(engine: any DatabaseEngine, cipher: MessageCipher) {
        self.engine = engine
        self.cipher = cipher
        self.index = SearchIndex(keyring: cipher.keyring)
    }

    /// Where a page of results ends: the last hit's time, chat and `seq`. Results are ordered by
    /// the three, newest first; within a chat, time follows `seq` (a message is never stamped
    /// earlier than the one before it), so each chat's index range, read by `seq`, agrees with it.
    /// As text, `<milliseconds>_<chat id>_<seq>`.
    public struct Cursor: Sendable, Equatable, CustomStringConvertible {
        public let createdAt: Timestamp
        public let chatID: UUID
        public let seq: Int64

        public init(createdAt: Timestamp, chatID: UUID, seq: Int64) {
            self.createdAt = createdAt
            self.chatID = chatID
            self.seq = seq
        }

        init(_ message: Message) {
            self.init(createdAt: message.createdAt, chatID: message.chatID, seq: message.seq)
        }

        public init?(_ text: String) {
            let parts = text.split(separator: "_", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count <= 16, let milliseconds = Int64(parts[0]), milliseconds >= 0,
                  parts[1].utf8.count == 36, let chatID = UUID(uuidString: String(parts[1])),
                  parts[2].count <= 19, let seq = Int64(parts[2]), seq >= 0
            else { return nil }
            self.init(createdAt: Timestamp(milliseconds: milliseconds), chatID: chatID, seq: seq)
        }

        public var description: String { "\(createdAt.milliseconds)_\(chatID.lowercasedString)_\(seq)" }

        /// The order of results, newest first.
        static func isNewer(_ a: (createdAt: Int64, chatID: UUID, seq: Int64), than b: (createdAt: Int64, chatID: UUID, seq: Int64)) -> Bool {
            (a.createdAt, a.chatID.uuidString, a.seq) > (b.createdAt, b.chatID.uuidString, b.seq)
        }
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

    /// A chat's part of a query: its id, the query's terms hashed under its key, and (SQLite) the
    /// number that places its documents in `search_documents`.
    struct Lookup {
        let chatID: UUID
        let hashes: [Int64]
        let ordinal: Int64
    }

    /// The lookups of chats that have a number in `search_chats` (every chat has one), with it.
    private func withOrdinals(_ lookups: [Lookup]) async throws -> [Lookup] {
        guard !lookups.isEmpty else { return [] }
        var ordinals: [UUID: Int64] = [:]
        for start in stride(from: 0, to: lookups.count, by: MessageStore.bulkBatchLimit) {
            let ids = lookups[start..<min(start + MessageStore.bulkBatchLimit, lookups.count)].map(\.chatID)
            let rows = try await engine.read { sql in
                try await sql.raw("SELECT chat_id, ordinal FROM search_chats WHERE chat_id IN (\(anyOf: ids))").all()
            }
            for row in rows { ordinals[try row.decode(column: "chat_id", as: UUID.self)] = try row.decode(column: "ordinal", as: Int64.self) }
        }
        return lookups.compactMap { lookup in ordinals[lookup.chatID].map { Lookup(chatID: lookup.chatID, hashes: lookup.hashes, ordinal: $0) } }
    }

    /// Chats one statement looks up at most (SQLite allows 500 parts in a compound SELECT).
    static let chatsPerStatement = 100
    /// Rounds of candidates a page reads at most when many fail the check; the page then ends
    /// short, with a cursor to go on from.
    static let maxRounds = 5
    /// Candidates one round reads at most.
    static let maxBatch = 500

    /// The newest messages in `chatIDs` matching `query` that `viewerID` sees, older than `before`,
    /// each shown as history shows it (with its reactions).
    public func search(
        _ query: SearchText.Query, in chatIDs: [UUID], for viewerID: UUID, before: Cursor?, limit: Int
    ) async throws -> Page {
        try await withReactions(try await hits(query, in: chatIDs, for: viewerID, before: before, limit: limit), for: viewerID)
    }

    private func hits(
        _ query: SearchText.Query, in chatIDs: [UUID], for viewerID: UUID, before: Cursor?, limit: Int
    ) async throws -> Page {
        let tokens = query.tokens
        var lookups: [Lookup] = []
        for chatID in chatIDs {
            if let hashes = try await index.lookups(tokens, in: chatID) { lookups.append(Lookup(chatID: chatID, hashes: hashes, ordinal: 0)) }
        }
        if engine.kind == .sqlite { lookups = try await withOrdinals(lookups) }
        // The rarest term drives the index range, the others are checked on each of its entries.
        let driving = try await rarestTerm(of: tokens.count, in: lookups)
        var hits: [Hit] = []
        var cursor = before
        // When candidates fail the check (a typed prefix longer than the index keeps), the next
        // round reads as many as the share that passed so far says the page still needs.
        var batch = limit + 1
        var examined = 0
        for _ in 0..<Self.maxRounds {
            let candidates = try await rows(ids: try await candidates(lookups, driving: driving, for: viewerID, before: cursor, limit: batch))
            for (number, row) in candidates.enumerated() {
                // Up to `maxBatch` messages opened per round, on an event loop that also carries sockets.
                if number % 32 == 31 { await Task.yield() }
                let message = try await cipher.message(from: row)
                if query.matches(message.content) {
                    if hits.count == limit { return Page(hits: hits, next: cursor) }
                    hits.append(Hit(message: message, snippet: query.snippet(of: message.content)))
                }
                examined += 1
                cursor = Cursor(message)
            }
            if candidates.count < batch { return Page(hits: hits, next: nil) }
            let passing = max(Double(hits.count) / Double(max(examined, 1)), 0.05)
            batch = min(Self.maxBatch, max(limit + 1, Int((Double(limit - hits.count + 1) / passing).rounded(.up))))
        }
        return Page(hits: hits, next: cursor)
    }

    /// The hits with their reactions as the reader's history shows them: counts and who reacted
    /// (as `ChatPolicy` allows for the chat's kind), and the reader's own; one read.
    private func withReactions(_ page: Page, for viewerID: UUID) async throws -> Page {
        guard !page.hits.isEmpty else { return page }
        let ids = page.hits.map(\.message.id)
        let chatIDs = Array(Set(page.hits.map(\.message.chatID)))
        let (summary, kinds) = try await engine.read { sql in
            let summary = try await ReactionStore.summary(of: ids, for: viewerID, on: sql)
            var kinds: [UUID: ChatKind] = [:]
            for row in try await sql.raw("SELECT id, type FROM chats WHERE id IN (\(anyOf: chatIDs))").all() {
                kinds[try row.decode(column: "id", as: UUID.self)] = ChatKind(rawValue: try row.decode(column: "type", as: String.self))
            }
            return (summary, kinds)
        }
        let messages = MessageStore.attach(summary, to: page.hits.map(\.message))
        let hits = zip(page.hits, messages).map { hit, message in
            Hit(message: kinds[message.chatID].map(message.shown(in:)) ?? message.withoutReactors(), snippet: hit.snippet)
        }
        return Page(hits: hits, next: page.next)
    }

    /// How many entries of a term are counted at most when choosing which one drives a query, in
    /// rising rounds: most queries are decided by the first, cheap one.
    static let termProbeCaps = [1_000, 8_000, 64_000]
    /// Chats whose entries the probe counts.
    static let probeChats = 16

    /// The term with the fewest index entries over the chats (on PostgreSQL; SQLite's FTS5 query
    /// takes all terms at once and picks its own order). Each round counts the terms still
    /// undecided up to its cap (one index range per term): a term under the cap is counted exactly,
    /// and the smallest exact count wins, since every capped term has more. Only when every term
    /// reaches the cap does the next, larger round count them again; after the last, the first
    /// term drives (all are common then, and any of them finds matches quickly).
    private func rarestTerm(of count: Int, in lookups: [Lookup]) async throws -> Int {
        guard count > 1, !lookups.isEmpty, engine.kind == .postgres else { return 0 }
        // A sample of the chats tells which term is rarer as well as all of them, for less.
        let sample = lookups.prefix(Self.probeChats)
        for cap in Self.termProbeCaps {
            var exact: [(term: Int, entries: Int)] = []
            for term in 0..<count {
                let hashes = sample.map { $0.hashes[term] }
                let entries = try await engine.read { sql in
                    try await sql.raw("""
                        SELECT COUNT(*) AS n FROM (SELECT 1 FROM search_tokens WHERE token IN (\(anyOf: hashes)) LIMIT \(bind: cap)) probe
                        """).first()?.decode(column: "n", as: Int.self) ?? 0
                }
                if entries < cap { exact.append((term, entries)) }
            }
            if let rarest = exact.min(by: { $0.entries < $1.entries }) { return rarest.term }
        }
        return 0
    }

    /// Candidates each chat gives in the first pass of `candidates`.
    static let firstPassPerChat = 3

    /// The ids of the newest `limit` messages over all chats whose index entries match every
    /// term, newest first. Only ids and times cross the union; whole rows are read for the few kept.
    ///
    /// Two passes, so that a query over many chats does not read `limit` candidates in each: the
    /// first asks every chat for its newest few (`firstPassPerChat`); only a chat whose few all
    /// made the overall newest `limit` can hold more of them (anything of it older than its few
    /// is older than all of them, so the rest of the newest `limit` comes from chats that had
    /// fewer in it), and only those chats are asked again for `limit`. Over a hundred chats this
    /// reads about a seventh of the candidates a single pass did.
    private func candidates(
        _ lookups: [Lookup], driving: Int, for viewerID: UUID, before: Cursor?, limit: Int
    ) async throws -> [UUID] {
        let few = Self.firstPassPerChat
        guard lookups.count > 1, limit > few else {
            return try await newest(lookups, driving: driving, for: viewerID, before: before, perChat: limit, limit: limit).map(\.id)
        }
        let first = try await newest(lookups, driving: driving, for: viewerID, before: before, perChat: few, limit: lookups.count * few)
        let kept = first.prefix(limit)
        var keptPerChat: [UUID: Int] = [:]
        for candidate in kept { keptPerChat[candidate.chatID, default: 0] += 1 }
        let again = lookups.filter { keptPerChat[$0.chatID, default: 0] >= few }
        guard !again.isEmpty else { return kept.map(\.id) }
        let more = try await newest(again, driving: driving, for: viewerID, before: before, perChat: limit, limit: limit)
        var merged: [UUID: Candidate] = [:]
        for candidate in kept + more { merged[candidate.id] = candidate }
        return merged.values.sorted(by: Candidate.isNewer).prefix(limit).map(\.id)
    }

    /// An index hit: a message's place in the order of results.
    private struct Candidate {
        let createdAt: Int64
        let chatID: UUID
        let seq: Int64
        let id: UUID

        static func isNewer(_ a: Candidate, _ b: Candidate) -> Bool {
            Cursor.isNewer((a.createdAt, a.chatID, a.seq), than: (b.createdAt, b.chatID, b.seq))
        }
    }

    /// The newest `limit` candidates over `lookups`, at most `perChat` from each chat, newest first.
    private func newest(
        _ lookups: [Lookup], driving: Int, for viewerID: UUID, before: Cursor?, perChat: Int, limit: Int
    ) async throws -> [Candidate] {
        var found: [Candidate] = []
        let statements: [SQLQueryString] = if engine.kind == .postgres {
            // One statement of the same text for any number of chats: PostgreSQL plans it in a
            // fraction of the time a hundred-branch union takes, and as well.
            [lateral(lookups, driving: driving, for: viewerID, before: before, perChat: perChat, limit: limit)]
        } else {
            stride(from: 0, to: lookups.count, by: Self.chatsPerStatement).map { start in
                let part = lookups[start..<min(start + Self.chatsPerStatement, lookups.count)]
                let branches: [SQLQueryString] = part.enumerated().map { number, lookup in
                    branch(lookup, for: viewerID, before: before, limit: perChat, alias: "b\(number)")
                }
                return "\(branches.joined(separator: " UNION ALL ")) ORDER BY created_at DESC, chat_id DESC, seq DESC LIMIT \(bind: limit)"
            }
        }
        for statement in statements {
            let rows = try await engine.read { sql in try await sql.raw(statement).all() }
            for row in rows {
                found.append(Candidate(
                    createdAt: try row.decode(column: "created_at", as: Int64.self), chatID: try row.decode(column: "chat_id", as: UUID.self),
                    seq: try row.decode(column: "seq", as: Int64.self), id: try row.decode(column: "id", as: UUID.self)
                ))
            }
        }
        found.sort(by: Candidate.isNewer)
        return Array(found.prefix(limit))
    }

    /// PostgreSQL's form of the per-chat look-ups: the chats and their terms' hashes travel as
    /// arrays, and each chat's index range is read in a `LATERAL` subquery, as a `branch` reads it.
    private func lateral(
        _ lookups: [Lookup], driving: Int, for viewerID: UUID, before: Cursor?, perChat: Int, limit: Int
    ) -> SQLQueryString {
        let others = (0..<(lookups.first?.hashes.count ?? 0)).filter { $0 != driving }
        var arrays: [SQLQueryString] = ["\(bind: lookups.map(\.chatID))::uuid[]", "\(bind: lookups.map { $0.hashes[driving] })::bigint[]"]
        var columns = ["chat_id", "token"]
        for (number, term) in others.enumerated() {
            arrays.append("\(bind: lookups.map { $0.hashes[term] })::bigint[]")
            columns.append("also\(number)")
        }
        var conditions = Self.matching(driving: "q.token", others: others.indices.map { "q.also\(unsafeRaw: String($0))" })
            + Self.visible(to: viewerID)
        if let before {
            conditions.append("(m.created_at, m.chat_id, m.seq) < (\(bind: before.createdAt.milliseconds), \(bind: before.chatID), \(bind: before.seq))")
        }
        return """
            SELECT c.id, c.created_at, c.chat_id, c.seq
            FROM unnest(\(arrays.joined(separator: ", "))) AS q(\(unsafeRaw: columns.joined(separator: ", ")))
            CROSS JOIN LATERAL (
                SELECT m.id AS id, m.created_at AS created_at, m.chat_id AS chat_id, m.seq AS seq FROM search_tokens t
                JOIN messages m ON m.chat_id = q.chat_id AND m.seq = t.seq
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY t.seq DESC LIMIT \(bind: perChat)
            ) c
            ORDER BY c.created_at DESC, c.chat_id DESC, c.seq DESC LIMIT \(bind: limit)
            """
    }

    /// The message rows with these ids, in the same order.
    private func rows(ids: [UUID]) async throws -> [any SQLRow] {
        guard !ids.isEmpty else { return [] }
        let rows = try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Message.columns) FROM messages WHERE id IN (\(anyOf: ids))").all()
        }
        var byID: [UUID: any SQLRow] = [:]
        for row in rows { byID[try row.decode(column: "id", as: UUID.self)] = row }
        return ids.compactMap { byID[$0] }
    }

    /// What makes a message `m` found by the index a candidate: not deleted and not hidden from
    /// the viewer. One rule for both engines' look-ups.
    private static func visible(to viewerID: UUID) -> [SQLQueryString] {
        ["m.deleted_at IS NULL", "NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = \(bind: viewerID) AND h.message_id = m.id)"]
    }

    /// PostgreSQL's index conditions: the entry `t` is of the driving term, and the message has
    /// every other term (`others`: hash expressions).
    private static func matching(driving: SQLQueryString, others: [SQLQueryString]) -> [SQLQueryString] {
        ["t.token = \(driving)"] + others.map { "EXISTS (SELECT 1 FROM search_tokens e WHERE e.token = \($0) AND e.seq = t.seq)" }
    }

    /// SQLite's look-up in one chat: its documents holding every term, newest first (FTS5 reads the
    /// chat's rowid range backwards), joined to the messages.
    private func branch(_ lookup: Lookup, for viewerID: UUID, before: Cursor?, limit: Int, alias: String) -> SQLQueryString {
        var conditions = Self.visible(to: viewerID)
        var rowids = SearchIndex.rowids(ofChat: lookup.ordinal)
        if let before {
            // Older than the cursor in (time, chat, seq) order, for this one chat.
            let time = before.createdAt.milliseconds
            let chat = lookup.chatID.uuidString
            let cursorChat = before.chatID.uuidString
            // `+m.created_at`: a filter on the rows the index finds, never a reason for the
            // planner to walk the messages by time instead.
            if chat == cursorChat {
                // Within the chat, time follows `seq`: the range skips the newer documents.
                rowids = SearchIndex.rowids(ofChat: lookup.ordinal, below: before.seq)
                conditions.append("(+m.created_at < \(bind: time) OR (+m.created_at = \(bind: time) AND m.seq < \(bind: before.seq)))")
            } else if chat < cursorChat {
                conditions.append("+m.created_at <= \(bind: time)")
            } else {
                conditions.append("+m.created_at < \(bind: time)")
            }
        }
        return """
            SELECT * FROM (
                SELECT m.id AS id, m.created_at AS created_at, m.chat_id AS chat_id, m.seq AS seq FROM search_documents d
                JOIN messages m ON m.chat_id = \(bind: lookup.chatID) AND m.seq = (d.rowid & \(bind: SearchIndex.maxSeq))
                WHERE d.search_documents MATCH \(bind: SearchIndex.query(all: lookup.hashes))
                    AND d.rowid BETWEEN \(bind: rowids.first) AND \(bind: rowids.last) AND \(conditions.joined(separator: " AND "))
                ORDER BY d.rowid DESC LIMIT \(bind: limit)
            ) \(unsafeRaw: alias)
            """
    }

    /// Indexes a batch of the messages stored before the index existed (migration 6 listed their
    /// chats in `search_backfill`, with the `seq` the chat had reached); later messages were
    /// indexed as they were stored. Returns how many messages it looked at: 0 when none are left.
    ///
    /// The batch is read and its texts opened and hashed before the write transaction, which then
    /// only stores what it finds unchanged: on SQLite that transaction holds the one writer every
    /// send waits for, and decrypting 500 messages inside it held sends up right after an upgrade.
    public func backfill(batch: Int = 500) async throws -> Int {
        guard let prepared = try await prepareBackfill(batch: batch) else { return 0 }
        try await storeBackfill(prepared)
        return max(prepared.messages.count, 1)
    }

    /// A batch of the backfill, read and hashed, not yet stored.
    struct BackfillBatch {
        let chatID: UUID
        /// The chat's progress when the batch was read: `seq`s after it are in the batch.
        let indexedUpTo: Int64
        /// The last `seq` the batch covers; when it is the chat's last to index, the chat is done.
        let upTo: Int64
        let isLast: Bool
        /// Each message's `seq`, its sealed content as read (to see that it is unchanged when
        /// stored) and its index entries.
        let messages: [(seq: Int64, sealedContent: String?, entries: [Int64])]
    }

    /// Reads the next batch of the backfill and computes its entries, outside any write.
    func prepareBackfill(batch: Int) async throws -> BackfillBatch? {
        precondition(batch > 0, "a backfill batch holds at least one message")
        let read = try await engine.read { sql -> (chatID: UUID, from: Int64, until: Int64, rows: [any SQLRow])? in
            guard let pending = try await sql.raw("SELECT chat_id, indexed_up_to, until_seq FROM search_backfill LIMIT 1").first() else { return nil }
            let chatID = try pending.decode(column: "chat_id", as: UUID.self)
            let from = try pending.decode(column: "indexed_up_to", as: Int64.self)
            let until = try pending.decode(column: "until_seq", as: Int64.self)
            let rows = try await sql.raw("""
                SELECT \(unsafeRaw: Message.columns) FROM messages
                WHERE chat_id = \(bind: chatID) AND seq > \(bind: from) AND seq <= \(bind: until) AND deleted_at IS NULL
                ORDER BY seq LIMIT \(bind: batch)
                """).all()
            return (chatID, from, until, rows)
        }
        guard let read else { return nil }
        var messages: [(seq: Int64, sealedContent: String?, entries: [Int64])] = []
        messages.reserveCapacity(read.rows.count)
        for (number, row) in read.rows.enumerated() {
            // Opening and hashing runs on an event loop that also carries sockets: let them in.
            if number % 32 == 31 { await Task.yield() }
            let seq = try row.decode(column: "seq", as: Int64.self)
            let sealed = try row.decode(column: "content", as: String?.self)
            // A message that does not open (tampered with, or its key lost) is left out of the
            // index rather than holding up every chat after it; reading it reports the error.
            let message: Message
            do {
                message = try await cipher.message(from: row)
            } catch let error as CourierError where error.code == Keyring.integrityError.code {
                // Only a message that fails its integrity check: any other error (a key not read,
                // a shutdown) fails the batch, which is tried again later.
                messages.append((seq, sealed, []))
                continue
            }
            messages.append((seq, sealed, try await index.entries(of: message.content, in: read.chatID)))
        }
        let isLast = read.rows.count < batch
        return BackfillBatch(
            chatID: read.chatID, indexedUpTo: read.from, upTo: isLast ? read.until : messages.last!.seq, isLast: isLast, messages: messages
        )
    }

    /// Stores a prepared batch and the chat's progress, in one transaction. A message edited or
    /// deleted since the batch was read is left out: its edit indexed its new text, its deletion
    /// removed it. A batch whose chat moved on meanwhile (another run stored it) stores nothing.
    func storeBackfill(_ batch: BackfillBatch) async throws {
        try await engine.write { sql in
            guard let progress = try await sql.raw("SELECT indexed_up_to FROM search_backfill WHERE chat_id = \(bind: batch.chatID)").first(),
                  try progress.decode(column: "indexed_up_to", as: Int64.self) == batch.indexedUpTo
            else { return }
            // PostgreSQL: an edit waits until these rows are indexed (SQLite's write transaction holds the database).
            let lock = sql.dialect.name == "sqlite" ? "" : "FOR UPDATE"
            var current: [Int64: String?] = [:]
            for row in try await sql.raw("""
                SELECT seq, content FROM messages
                WHERE chat_id = \(bind: batch.chatID) AND seq > \(bind: batch.indexedUpTo) AND seq <= \(bind: batch.upTo) AND deleted_at IS NULL
                \(unsafeRaw: lock)
                """).all() {
                current[try row.decode(column: "seq", as: Int64.self)] = try row.decode(column: "content", as: String?.self)
            }
            let unchanged = batch.messages.filter { current[$0.seq] == .some($0.sealedContent) }
            try await SearchIndex.add(unchanged.map { ($0.seq, $0.entries) }, in: batch.chatID, on: sql)
            if batch.isLast {
                try await sql.raw("DELETE FROM search_backfill WHERE chat_id = \(bind: batch.chatID)").run()
            } else {
                try await sql.raw("UPDATE search_backfill SET indexed_up_to = \(bind: batch.upTo) WHERE chat_id = \(bind: batch.chatID)").run()
            }
        }
    }
}

import CourierCore
import Foundation
import SQLKit

/// Messages and history.
///
/// Sending takes the chat's next `seq` with `UPDATE chats SET last_seq = last_seq + 1 … RETURNING`
/// inside the same transaction as the insert: the row lock orders concurrent senders, and a failed
/// insert rolls the counter back, so `seq` has no gaps and no duplicates. PostgreSQL does the same
/// in one call of a function (`Schema.appendMessageFunction`), in one round trip.
///
/// Every write keeps the search index (`SearchIndex`) in step, in the same transaction.
public struct MessageStore: Sendable {
    let engine: any DatabaseEngine
    let cipher: MessageCipher
    let index: SearchIndex
    let reactions: ReactionStore
    /// Who posted where lately: their sends skip the read that checks everyone else's (see `append`).
    let knownPosters = KnownPosters()

    public init(engine: any DatabaseEngine, cipher: MessageCipher) {
        self.engine = engine
        self.cipher = cipher
        self.index = SearchIndex(keyring: cipher.keyring)
        self.reactions = ReactionStore(engine: engine)
    }

    /// `messages` with their reactions, and `viewerID`'s own when given.
    func withReactions(_ messages: [Message], for viewerID: UUID? = nil) async throws -> [Message] {
        let ids = messages.filter { !$0.isDeleted }.map(\.id)
        guard !ids.isEmpty else { return messages }
        return Self.attach(try await reactions.summary(of: ids, for: viewerID), to: messages)
    }

    /// `messages` with the reactions and the viewer's own from `summary`.
    static func attach(_ summary: ReactionStore.Summary, to messages: [Message]) -> [Message] {
        messages.map { message in
            var message = message
            message.reactions = summary.counts[message.id] ?? []
            message.myReaction = summary.mine[message.id]
            return message
        }
    }

    /// Work that runs inside a message's transaction, after the message is written.
    public typealias Alongside = @Sendable (Message, any SQLDatabase) async throws -> Void

    /// Where a forwarded message came from.
    public struct ForwardOrigin: Sendable {
        public let messageID: UUID
        public let senderID: UUID?

        public init(messageID: UUID, senderID: UUID?) {
            self.messageID = messageID
            self.senderID = senderID
        }
    }

    /// Why `append` stored nothing: the sender is not in the chat (or there is no such chat), or
    /// may not post there (`ChatPolicy.canPost`).
    public enum PostingRefusal: Error, Sendable, Equatable {
        case notMember
        case mayNotPost(ChatKind)
    }

    /// A stored message, its update, and the chat's members as the transaction left them (nil for a
    /// chat of more than `membersReadWithMessageLimit` members, whose members are read apart).
    public struct Appended: Sendable {
        public let message: Message
        public let update: ChatUpdate
        public let members: [UUID]?
    }

    /// Chats up to this many members have their members read in the message's transaction, for
    /// delivering it without another read; larger ones (channels) are read apart, outside the
    /// writer that every send passes through.
    static let membersReadWithMessageLimit = 256

    /// Stores a message with the chat's next `seq`, and its `new_message` update with the chat's next
    /// `pts`. The sender's read mark moves to it: sending implies having read the chat (clients
    /// read that from the update itself: a `new_message` from someone is their read mark too).
    ///
    /// The transaction takes the chat's row, then checks that the sender may post (`PostingRefusal`)
    /// and reads the members of a small chat with one statement, so they are exactly those the
    /// message was stored for: the send of someone who posted in the chat before costs no read of
    /// its own (anyone else's is checked by a read first, see `KnownPosters`).
    ///
    /// `alongside` runs in the same transaction after the message is written (the Telegram relay
    /// queues its notices there), so the message and what must follow from it commit together.
    public func append(
        _ draft: MessageDraft, from senderID: UUID, forwardedFrom origin: ForwardOrigin? = nil, at time: Timestamp,
        alongside: Alongside? = nil
    ) async throws -> Appended {
        do {
            let appended = try await append(draft, id: UUID.timeOrdered(milliseconds: time.milliseconds), from: senderID, forwardedFrom: origin, at: time, alongside: alongside)
            knownPosters.insert(senderID, in: draft.chatID)
            return appended
        } catch let refusal as PostingRefusal {
            knownPosters.remove(senderID, in: draft.chatID)
            throw refusal
        }
    }

    private func append(
        _ draft: MessageDraft, id: UUID, from senderID: UUID, forwardedFrom origin: ForwardOrigin?, at time: Timestamp, alongside: Alongside?
    ) async throws -> Appended {
        if !knownPosters.contains(senderID, in: draft.chatID) || !cipher.keyring.holdsKey(forChat: draft.chatID) {
            // Someone not seen posting here is checked before anything else: a refusal then costs
            // a read, not a place in the writer, and sealing (which may create the chat's key) is
            // not done for someone who may not post there (an outsider probing chat ids, a chat
            // that does not exist).
            try await engine.read { sql in try await Self.requirePosting(by: senderID, in: draft.chatID, on: sql) }
        }
        let sealed = try await cipher.seal(
            .init(
                content: draft.content, mediaURL: draft.mediaURL,
                attachments: !draft.media.isEmpty ? try jsonText(draft.media) : draft.attachments.isEmpty ? nil : try jsonText(draft.attachments),
                metadata: try draft.metadata.map { try jsonText($0) }
            ),
            messageID: id, chatID: draft.chatID
        )
        let entries = try await index.entries(of: draft.content, in: draft.chatID)
        if engine.kind == .postgres {
            return try await appendOnPostgres(
                draft, id: id, sealed: sealed, entries: entries, from: senderID, forwardedFrom: origin, at: time, alongside: alongside
            )
        }
        return try await engine.write { sql in
            try await Self.insert(
                draft, id: id, sealed: sealed, entries: entries, from: senderID, forwardedFrom: origin, at: time, alongside: alongside, on: sql
            )
        }
    }

    /// `append` on PostgreSQL: one call of `courier_append_message` (`Schema.appendMessageFunction`),
    /// which does there what `insert` does on SQLite in one round trip, committed by itself; in a
    /// transaction only when the message's media or `alongside` must commit with it.
    private func appendOnPostgres(
        _ draft: MessageDraft, id: UUID, sealed: MessageCipher.SealedFields, entries: [Int64], from senderID: UUID,
        forwardedFrom origin: ForwardOrigin?, at time: Timestamp, alongside: Alongside?
    ) async throws -> Appended {
        let call = { @Sendable (sql: any SQLDatabase) async throws -> Appended in
            try await Self.callAppendFunction(
                draft, id: id, sealed: sealed, entries: entries, from: senderID, forwardedFrom: origin, at: time, on: sql
            )
        }
        guard !draft.media.isEmpty || alongside != nil else { return try await engine.writeOneStatement(call) }
        return try await engine.write { sql in
            let appended = try await call(sql)
            try await MediaStore.attach(draft.media, to: appended.message, on: sql)
            try await alongside?(appended.message, sql)
            return appended
        }
    }

    /// `ChatPolicy.canPost` as `courier_append_message` takes it: each `kind:role` that may post.
    static let mayPost: [String] = ChatKind.allCases.flatMap { kind in
        ChatRole.allCases.filter { ChatPolicy.canPost(kind: kind, role: $0) }.map { "\(kind.rawValue):\($0.rawValue)" }
    }

    private static func callAppendFunction(
        _ draft: MessageDraft, id: UUID, sealed: MessageCipher.SealedFields, entries: [Int64], from senderID: UUID,
        forwardedFrom origin: ForwardOrigin?, at time: Timestamp, on sql: any SQLDatabase
    ) async throws -> Appended {
        // Each argument is cast to its parameter's type: a null arrives without one.
        let row = try await sql.raw("""
            SELECT chat_type, sender_role, members, appended_seq, appended_pts, appended_at FROM courier_append_message(
                \(bind: id)::uuid, \(bind: draft.chatID)::uuid, \(bind: senderID)::uuid, \(bind: time.milliseconds)::bigint,
                \(bind: sealed.content)::text, \(bind: draft.kind.rawValue)::text, \(bind: sealed.mediaURL)::text,
                \(bind: sealed.attachments)::text, \(bind: sealed.metadata)::text, \(bind: draft.replyToID)::uuid,
                \(bind: origin?.messageID)::uuid, \(bind: origin?.senderID)::uuid, \(bind: draft.clientMessageID)::text,
                \(bind: entries)::bigint[], \(bind: Mentions.usernames(in: draft.content))::text[], \(bind: mayPost)::text[],
                \(bind: membersReadWithMessageLimit)::integer)
            """).first()
        guard let row, let kind = try row.decode(column: "chat_type", as: String?.self).flatMap(ChatKind.init(rawValue:)) else {
            throw PostingRefusal.notMember
        }
        guard let seq = try row.decode(column: "appended_seq", as: Int64?.self) else {
            try requirePosting(kind: kind, role: try row.decode(column: "sender_role", as: String?.self))
            throw PostingRefusal.notMember  // refused by `mayPost`, which `requirePosting` agrees with
        }
        let stamped = Timestamp(milliseconds: try row.decode(column: "appended_at", as: Int64.self))
        let message = Self.message(draft, id: id, seq: seq, from: senderID, forwardedFrom: origin, at: stamped)
        let update = ChatUpdate(
            chatID: draft.chatID, pts: try row.decode(column: "appended_pts", as: Int64.self), kind: .newMessage,
            messageID: id, userID: senderID, value: seq, createdAt: stamped
        )
        return Appended(message: message, update: update, members: try row.decode(column: "members", as: [UUID]?.self))
    }

    /// The message `append` stores, at its `seq` and time.
    private static func message(
        _ draft: MessageDraft, id: UUID, seq: Int64, from senderID: UUID, forwardedFrom origin: ForwardOrigin?, at stamped: Timestamp
    ) -> Message {
        Message(
            id: id, chatID: draft.chatID, seq: seq, senderID: senderID, content: draft.content, kind: draft.kind,
            mediaURL: draft.mediaURL, attachments: draft.attachments, metadata: draft.metadata, replyToID: draft.replyToID,
            forwardedFromID: origin?.messageID, forwardedFromSenderID: origin?.senderID,
            clientMessageID: draft.clientMessageID, createdAt: stamped, updatedAt: stamped, editedAt: nil, deletedAt: nil,
            media: draft.media
        )
    }

    /// Refuses a sender who is not in the chat or may not post there, before anything is done for
    /// the send (a read).
    private static func requirePosting(by senderID: UUID, in chatID: UUID, on sql: any SQLDatabase) async throws {
        let row = try await sql.raw("""
            SELECT c.type, m.role FROM chats c LEFT JOIN chat_members m ON m.chat_id = c.id AND m.user_id = \(bind: senderID)
            WHERE c.id = \(bind: chatID)
            """).first()
        guard let row else { throw PostingRefusal.notMember }
        try requirePosting(kind: try row.decodeEnum(column: "type", as: ChatKind.self), role: try row.decode(column: "role", as: String?.self))
    }

    /// `ChatPolicy.canPost` for a sender's role as stored (nil: not a member).
    private static func requirePosting(kind: ChatKind, role: String?) throws(PostingRefusal) {
        guard let role = role.flatMap(ChatRole.init(rawValue:)) else { throw PostingRefusal.notMember }
        guard ChatPolicy.canPost(kind: kind, role: role) else { throw PostingRefusal.mayNotPost(kind) }
    }

    /// `append`'s statements on SQLite: the chat's row first, then the sender's right to post and (in a small
    /// chat) the members, read with the row taken, then the message and what goes with it.
    private static func insert(
        _ draft: MessageDraft, id: UUID, sealed: MessageCipher.SealedFields, entries: [Int64], from senderID: UUID, forwardedFrom origin: ForwardOrigin?,
        at time: Timestamp, alongside: Alongside?, on sql: any SQLDatabase
    ) async throws -> Appended {
        // The chat's next positions and the message's time: never earlier than the message
        // before (two nodes' clocks, a send that waited for the lock), since within a chat
        // time follows `seq`, which search's paging relies on. The time is kept on the chat's
        // row, which the statement reads as it is after the lock: a subquery for the previous
        // message would read PostgreSQL's snapshot from before the wait, without it.
        guard let counters = try await sql.raw("""
            UPDATE chats SET last_seq = last_seq + 1, last_pts = last_pts + 1, last_activity_at = \(Self.latest(of: time, on: sql))
            WHERE id = \(bind: draft.chatID)
            RETURNING last_seq, last_pts, last_activity_at, member_count, type
            """).first()
        else { throw PostingRefusal.notMember }
        // Read with the chat's row taken: a membership change, which takes the same row, committed
        // either before (and is seen here) or waits for this transaction and gets a later position.
        // A refusal here rolls the transaction back (on SQLite, with the batch it shares; senders
        // not seen posting in the chat were checked by a read before, so this is rare).
        let members: [UUID]?
        let senderRole: String?
        if try counters.decode(column: "member_count", as: Int.self) <= membersReadWithMessageLimit {
            let rows = try await sql.raw("SELECT user_id, role FROM chat_members WHERE chat_id = \(bind: draft.chatID)").all()
            let roles = try rows.map { (try $0.decode(column: "user_id", as: UUID.self), try $0.decode(column: "role", as: String.self)) }
            members = roles.map(\.0)
            senderRole = roles.first { $0.0 == senderID }?.1
        } else {
            members = nil
            senderRole = try await sql.raw("""
                SELECT role FROM chat_members WHERE chat_id = \(bind: draft.chatID) AND user_id = \(bind: senderID)
                """).first()?.decode(column: "role", as: String.self)
        }
        try requirePosting(kind: try counters.decodeEnum(column: "type", as: ChatKind.self), role: senderRole)
        let seq = try counters.decode(column: "last_seq", as: Int64.self)
        let stamped = Timestamp(milliseconds: try counters.decode(column: "last_activity_at", as: Int64.self))
        let message = Self.message(draft, id: id, seq: seq, from: senderID, forwardedFrom: origin, at: stamped)
        try await sql.raw("""
            INSERT INTO messages (\(unsafeRaw: Message.columns))
            VALUES (\(bind: message.id), \(bind: message.chatID), \(bind: seq), \(bind: senderID), \(bind: sealed.content),
                    \(bind: message.kind.rawValue), \(bind: sealed.mediaURL), \(bind: sealed.attachments), \(bind: sealed.metadata),
                    \(bind: message.replyToID), \(bind: message.forwardedFromID), \(bind: message.forwardedFromSenderID),
                    \(bind: message.clientMessageID), \(bind: stamped.milliseconds), \(bind: stamped.milliseconds), NULL, NULL)
            """).run()
        try await sql.raw("""
            UPDATE chat_members SET last_read_seq = \(bind: seq) WHERE chat_id = \(bind: draft.chatID) AND user_id = \(bind: senderID)
            """).run()
        try await MediaStore.attach(draft.media, to: message, on: sql)
        try await SearchIndex.add(entries, seq: seq, in: draft.chatID, on: sql)
        try await Self.recordMentions(in: message, on: sql)
        let update = ChatUpdate(
            chatID: draft.chatID, pts: try counters.decode(column: "last_pts", as: Int64.self), kind: .newMessage,
            messageID: id, userID: senderID, value: seq, createdAt: stamped
        )
        try await UpdateLog.insert(update, on: sql)
        try await alongside?(message, sql)
        return Appended(message: message, update: update, members: members)
    }

    /// Notes who the message mentions: members of the chat named by `@username`, not its sender.
    static func recordMentions(in message: Message, on sql: any SQLDatabase) async throws {
        let names = Mentions.usernames(in: message.content)
        guard !names.isEmpty else { return }
        try await sql.raw("""
            INSERT INTO message_mentions (chat_id, user_id, seq, message_id)
            SELECT m.chat_id, u.id, \(bind: message.seq), \(bind: message.id) FROM users u
            JOIN chat_members m ON m.user_id = u.id AND m.chat_id = \(bind: message.chatID)
            WHERE u.username IN (\(anyOf: names)) AND u.id <> \(bind: message.senderID)
            """).run()
    }

    /// Most rows one bulk insert carries: at 8 bound values a row, well under SQLite's and
    /// PostgreSQL's limits on parameters per statement.
    public static let bulkBatchLimit = 500

    /// Stores many text messages from one sender in one transaction, with consecutive `seq`s taken in
    /// one step, and returns the last `seq`. For seeding large chats (`courier bench history`), where
    /// `append`'s round trip per message would dominate; the message rows are the ones `append`
    /// writes, encrypted alike (the sender's read mark is left where it is). At most
    /// `bulkBatchLimit` contents per call.
    @discardableResult
    public func appendBulk(_ contents: [String], to chatID: UUID, from senderID: UUID, at time: Timestamp) async throws -> Int64 {
        guard contents.count <= Self.bulkBatchLimit else {
            throw CourierError.invalid("messages", "At most \(Self.bulkBatchLimit) messages are written at once.")
        }
        guard !contents.isEmpty else { return 0 }
        var sealed: [(id: UUID, content: String, entries: [Int64])] = []
        sealed.reserveCapacity(contents.count)
        for content in contents {
            let id = UUID.timeOrdered(milliseconds: time.milliseconds)
            sealed.append((id, try await cipher.sealContent(content, messageID: id, chatID: chatID), try await index.entries(of: content, in: chatID)))
        }
        let rows = sealed
        return try await engine.write { sql in
            // Stamped as `append` stamps: never earlier than the chat's messages before.
            guard let counters = try await sql.raw("""
                UPDATE chats SET last_seq = last_seq + \(bind: rows.count), last_pts = last_pts + \(bind: rows.count),
                    last_activity_at = \(Self.latest(of: time, on: sql))
                WHERE id = \(bind: chatID) RETURNING last_seq, last_pts, last_activity_at
                """).first()
            else { throw CourierError.notFound("chat") }
            let stamped = try counters.decode(column: "last_activity_at", as: Int64.self)
            let last = try counters.decode(column: "last_seq", as: Int64.self)
            let first = last - Int64(rows.count) + 1
            let firstPts = try counters.decode(column: "last_pts", as: Int64.self) - Int64(rows.count) + 1
            let values: [SQLQueryString] = rows.enumerated().map { index, row in
                """
                (\(bind: row.id), \(bind: chatID), \(bind: first + Int64(index)), \(bind: senderID), \(bind: row.content),
                 \(bind: MessageKind.text.rawValue), NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                 \(bind: stamped), \(bind: stamped), NULL, NULL)
                """
            }
            try await sql.raw("INSERT INTO messages (\(unsafeRaw: Message.columns)) VALUES \(values.joined(separator: ", "))").run()
            let updates: [SQLQueryString] = rows.enumerated().map { index, row in
                """
                (\(bind: chatID), \(bind: firstPts + Int64(index)), 'new_message', \(bind: row.id), \(bind: senderID),
                 \(bind: first + Int64(index)), NULL, \(bind: stamped))
                """
            }
            try await sql.raw("""
                INSERT INTO chat_updates (chat_id, pts, kind, message_id, user_id, value, detail, created_at)
                VALUES \(updates.joined(separator: ", "))
                """).run()
            try await SearchIndex.add(rows.enumerated().map { index, row in (first + Int64(index), row.entries) }, in: chatID, on: sql)
            return last
        }
    }

    /// The later of the chat's last activity and `time`, as an expression of `chats`' row.
    private static func latest(of time: Timestamp, on sql: any SQLDatabase) -> SQLQueryString {
        sql.dialect.name == "sqlite"
            ? "MAX(last_activity_at, \(bind: time.milliseconds))" : "GREATEST(last_activity_at, \(bind: time.milliseconds))"
    }

    /// Whether an error from `append` means the sender already used this `client_msg_id`.
    public static func isDuplicateClientMessageID(_ error: any Error) -> Bool {
        UniqueViolation(error)?.isOn(table: "messages", column: "client_msg_id") ?? false
    }

    public func find(id: UUID) async throws -> Message? {
        let row = try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Message.columns) FROM messages WHERE id = \(bind: id)").first()
        }
        guard let message = try await row.asyncMap({ try await cipher.message(from: $0) }) else { return nil }
        return try await withReactions([message]).first
    }

    /// The message a sender sent earlier with `clientMessageID`.
    public func find(senderID: UUID, clientMessageID: String) async throws -> Message? {
        let row = try await engine.read { sql in
            try await sql.raw("""
                SELECT \(unsafeRaw: Message.columns) FROM messages
                WHERE sender_id = \(bind: senderID) AND client_msg_id = \(bind: clientMessageID)
                """).first()
        }
        return try await row.asyncMap { try await cipher.message(from: $0) }
    }

    /// A page of a chat's history as `viewerID` sees it (without what they deleted for themselves),
    /// with the chat's kind; nil when there is no such chat or `viewerID` is not in it. Offset and
    /// `before` pages are newest first; `after` pages are oldest first, for catching up.
    ///
    /// One statement (`pageStatement`): the chat with the reader's membership and what they hid,
    /// and the page's rows, each saying whether it has reactions; the reactions are a second
    /// statement only when some message of the page has any. On PostgreSQL each statement is a
    /// round trip: a page was four (the session, the membership, the rows, the reactions).
    public func page(of chatID: UUID, for viewerID: UUID, _ request: PageRequest) async throws -> (page: MessagePage, chatKind: ChatKind)? {
        let read = try await engine.read { sql -> (rows: [any SQLRow], total: Int, hasMore: Bool, kind: ChatKind, reactions: ReactionStore.Summary)? in
            let found = try await sql.raw(Self.pageStatement(of: chatID, for: viewerID, request)).all()
            // No row at all: no such chat, or the reader is not in it.
            guard let chat = found.first else { return nil }
            let kind = try chat.decodeEnum(column: "chat_type", as: ChatKind.self)
            // Messages are never removed, only cleared, and seq has no gaps: the count is last_seq.
            let total = try chat.decode(column: "chat_last_seq", as: Int.self) - chat.decode(column: "chat_hidden", as: Int.self)
            // A chat without a message in the page still gives its one row, with the page's columns null.
            var rows = try chat.decodeNil(column: "id") ? [] : found
            let hasMore: Bool
            switch request.position {
            case .offset(let offset):
                hasMore = offset + rows.count < total
            case .before, .after:
                hasMore = rows.count > request.limit
                rows = Array(rows.prefix(request.limit))
            }
            var reacted: [UUID] = []
            for row in rows where try row.decodeNil(column: "deleted_at") && row.decode(column: "has_reactions", as: Bool.self) {
                reacted.append(try row.decode(column: "id", as: UUID.self))
            }
            let reactions = reacted.isEmpty ? ReactionStore.Summary() : try await ReactionStore.summary(of: reacted, for: viewerID, on: sql)
            return (rows, total, hasMore, kind, reactions)
        }
        guard let read else { return nil }
        let messages = Self.attach(read.reactions, to: try await cipher.messages(from: read.rows))
        return (MessagePage(messages: messages, total: read.total, hasMore: read.hasMore), read.kind)
    }

    /// The statement of a history page: the chat's row (its kind, its last seq and how many of its
    /// messages the reader hid) when the reader is a member, joined to the page's messages, so
    /// that a page is one round trip. A chat the reader may not see gives no row.
    ///
    /// An offset page is an index range when the reader hid nothing: the message `offset` places
    /// from the newest then has seq `last_seq - offset`. When they hid some, it skips `offset`
    /// visible messages instead. Both bounds come from the chat's row, computed once.
    private static func pageStatement(of chatID: UUID, for viewerID: UUID, _ request: PageRequest) -> SQLQueryString {
        let range: SQLQueryString
        let order: SQLQueryString
        switch request.position {
        case .offset(let offset):
            range = """
                AND m.seq <= (SELECT CASE WHEN chat_hidden = 0 THEN chat_last_seq - \(bind: offset) ELSE chat_last_seq END FROM chat)
                ORDER BY m.seq DESC LIMIT \(bind: request.limit)
                OFFSET (SELECT CASE WHEN chat_hidden = 0 THEN 0 ELSE \(bind: offset) END FROM chat)
                """
            order = "DESC"
        case .before(let seq):
            range = "AND m.seq < \(bind: seq) ORDER BY m.seq DESC LIMIT \(bind: request.limit + 1)"
            order = "DESC"
        case .after(let seq):
            range = "AND m.seq > \(bind: seq) ORDER BY m.seq ASC LIMIT \(bind: request.limit + 1)"
            order = "ASC"
        }
        return """
            WITH chat AS (
                SELECT c.last_seq AS chat_last_seq, c.type AS chat_type,
                       (SELECT COUNT(*) FROM hidden_messages h WHERE h.user_id = \(bind: viewerID) AND h.chat_id = c.id) AS chat_hidden
                FROM chats c
                WHERE c.id = \(bind: chatID)
                  AND EXISTS (SELECT 1 FROM chat_members cm WHERE cm.chat_id = c.id AND cm.user_id = \(bind: viewerID))
            )
            SELECT chat.chat_last_seq, chat.chat_type, chat.chat_hidden, page.*
            FROM chat LEFT JOIN (
                SELECT \(unsafeRaw: Message.columns(of: "m", prefix: "")),
                       EXISTS (SELECT 1 FROM message_reactions r WHERE r.message_id = m.id) AS has_reactions
                FROM messages m
                WHERE m.chat_id = \(bind: chatID) AND EXISTS (SELECT 1 FROM chat)
                  AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = \(bind: viewerID) AND h.message_id = m.id)
                  \(range)
            ) page ON TRUE
            ORDER BY page.seq \(order)
            """
    }

    /// Replaces a message's text and marks it edited, with its `message_edited` update.
    ///
    /// `metadata`, when given, replaces the message's metadata too (a bot's edit sets or removes its
    /// buttons with the text); nil leaves it as it is.
    public func edit(
        _ message: Message, content: String, metadata: [String: JSONValue]?? = nil, at time: Timestamp
    ) async throws -> (message: Message, update: ChatUpdate)? {
        let sealed = try await cipher.sealContent(content, messageID: message.id, chatID: message.chatID)
        let sealedMetadata: String?? = switch metadata {
        case .none: .none
        case .some(let value): .some(try await cipher.sealMetadata(try value.map { try jsonText($0) }, messageID: message.id, chatID: message.chatID))
        }
        let entries = try await index.entries(of: content, in: message.chatID)
        let result = try await engine.write { sql -> (row: any SQLRow, update: ChatUpdate)? in
            guard let before = try await lockedLiveMessage(message.id, on: sql) else { return nil }
            let metadataChange: SQLQueryString = switch sealedMetadata {
            case .none: ""
            case .some(let value): ", metadata = \(bind: value)"
            }
            guard let row = try await sql.raw("""
                UPDATE messages SET content = \(bind: sealed)\(metadataChange), edited_at = \(bind: time.milliseconds), updated_at = \(bind: time.milliseconds)
                WHERE id = \(bind: message.id) AND deleted_at IS NULL
                RETURNING \(unsafeRaw: Message.columns)
                """).first()
            else { return nil }
            try await index.remove(seq: message.seq, in: message.chatID, previousText: before.content, on: sql)
            try await SearchIndex.add(entries, seq: message.seq, in: message.chatID, on: sql)
            // Mentions follow the text: one added by the edit counts, one removed no longer does.
            try await sql.raw("DELETE FROM message_mentions WHERE message_id = \(bind: message.id)").run()
            var edited = before
            edited.content = content
            try await Self.recordMentions(in: edited, on: sql)
            let update = try await UpdateLog.record(.messageEdited, in: message.chatID, messageID: message.id, value: message.seq, at: time, on: sql)
            return (row, update)
        }
        guard let result else { return nil }
        return (try await withReactions([try await cipher.message(from: result.row)])[0], result.update)
    }

    /// A message not deleted, as it is now, its row locked until the transaction ends (on SQLite
    /// the write transaction holds the whole database), so that the index entries removed for its
    /// old text are those of the text really replaced.
    private func lockedLiveMessage(_ id: UUID, on sql: any SQLDatabase) async throws -> Message? {
        guard let row = try await Self.lockedLiveRow(id, on: sql, required: false) else { return nil }
        return try await cipher.message(from: row)
    }

    /// Locks a message not deleted and returns its row: its row on PostgreSQL (SQLite's write
    /// transaction holds the whole database), so that an edit, a reaction or a pin cannot cross
    /// its deletion or a second change to it. A deleted or unknown message is not found.
    static func lockedLiveRow(_ id: UUID, on sql: any SQLDatabase, required: Bool = true) async throws -> (any SQLRow)? {
        let row = try await sql.raw("""
            UPDATE messages SET updated_at = updated_at WHERE id = \(bind: id) AND deleted_at IS NULL RETURNING \(unsafeRaw: Message.columns)
            """).first()
        if required, row == nil { throw CourierError.notFound("message") }
        return row
    }

    /// Deletes a message for everyone: its content, media, metadata and index entries are erased;
    /// its `seq` stays. Returns the tombstone with its `message_deleted` update.
    public func deleteForEveryone(_ id: UUID, at time: Timestamp) async throws -> (message: Message, update: ChatUpdate)? {
        let result = try await engine.write { sql -> (row: any SQLRow, update: ChatUpdate)? in
            guard let before = try await lockedLiveMessage(id, on: sql) else { return nil }
            guard let row = try await sql.raw("""
                UPDATE messages SET content = '', media_url = NULL, attachments = NULL, metadata = NULL,
                    deleted_at = \(bind: time.milliseconds), updated_at = \(bind: time.milliseconds)
                WHERE id = \(bind: id) AND deleted_at IS NULL
                RETURNING \(unsafeRaw: Message.columns)
                """).first()
            else { return nil }
            let chatID = try row.decode(column: "chat_id", as: UUID.self)
            let seq = try row.decode(column: "seq", as: Int64.self)
            try await index.remove(seq: seq, in: chatID, previousText: before.content, on: sql)
            // Its reactions and its pin go with its content (`message_deleted` says so to clients).
            try await sql.raw("DELETE FROM message_reactions WHERE message_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM pinned_messages WHERE message_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM message_mentions WHERE message_id = \(bind: id)").run()
            try await MediaStore.detach(messageID: id, at: time, on: sql)
            let update = try await UpdateLog.record(.messageDeleted, in: chatID, messageID: id, value: seq, at: time, on: sql)
            return (row, update)
        }
        guard let result else { return nil }
        return (try await cipher.message(from: result.row), result.update)
    }

    /// Hides a message from one person's view of the chat; returns the `message_hidden` update of
    /// their own log, nil when it was hidden already.
    @discardableResult
    public func hide(_ message: Message, for userID: UUID, at time: Timestamp) async throws -> AccountUpdate? {
        try await engine.write { sql in
            let hidden = try await sql.raw("""
                SELECT 1 AS present FROM hidden_messages WHERE user_id = \(bind: userID) AND message_id = \(bind: message.id)
                """).first()
            guard hidden == nil else { return nil }
            try await sql.raw("""
                INSERT INTO hidden_messages (user_id, message_id, chat_id, hidden_at)
                VALUES (\(bind: userID), \(bind: message.id), \(bind: message.chatID), \(bind: time.milliseconds))
                """).run()
            return try await UpdateLog.record(
                .messageHidden, for: userID, chatID: message.chatID, messageID: message.id, value: message.seq, at: time, on: sql
            )
        }
    }

    /// The messages with these ids, for delivering updates (catching up decrypts only what it sends).
    /// The message at position `seq` of a chat (the Bot API's `message_id`).
    public func find(chatID: UUID, seq: Int64) async throws -> Message? {
        guard let row = try await engine.read({ sql in
            try await sql.raw("SELECT \(unsafeRaw: Message.columns) FROM messages WHERE chat_id = \(bind: chatID) AND seq = \(bind: seq)").first()
        }) else { return nil }
        return try await withReactions([try await cipher.message(from: row)])[0]
    }

    public func find(ids: [UUID]) async throws -> [UUID: Message] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Message.columns) FROM messages WHERE id IN (\(anyOf: ids))").all()
        }
        var found: [Message] = []
        for row in rows { found.append(try await cipher.message(from: row)) }
        return Dictionary(uniqueKeysWithValues: try await withReactions(found).map { ($0.id, $0) })
    }

    /// Who deleted this message for themselves.
    public func hiders(of messageID: UUID) async throws -> Set<UUID> {
        try await engine.read { sql in
            Set(try await sql.raw("""
                SELECT user_id FROM hidden_messages WHERE message_id = \(bind: messageID)
                """).all().map { try $0.decode(column: "user_id", as: UUID.self) })
        }
    }

    /// The position of a message's `new_message` update, while the log still has it (for the ack of
    /// a repeated `client_msg_id`).
    public func newMessagePosition(of message: Message) async throws -> Int64? {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT pts FROM chat_updates WHERE chat_id = \(bind: message.chatID) AND message_id = \(bind: message.id) AND kind = 'new_message'
                """).first()?.decode(column: "pts", as: Int64.self)
        }
    }

    /// Which of these messages `userID` deleted for themselves.
    public func hidden(among ids: [UUID], for userID: UUID) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        return try await engine.read { sql in
            Set(try await sql.raw("""
                SELECT message_id FROM hidden_messages WHERE user_id = \(bind: userID) AND message_id IN (\(anyOf: ids))
                """).all().map { try $0.decode(column: "message_id", as: UUID.self) })
        }
    }

    /// Whether `userID` deleted the message for themselves.
    public func isHidden(_ messageID: UUID, for userID: UUID) async throws -> Bool {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT 1 AS present FROM hidden_messages WHERE user_id = \(bind: userID) AND message_id = \(bind: messageID)
                """).first() != nil
        }
    }
}

import CourierCore
import Foundation
import SQLKit

/// Messages and history.
///
/// Sending takes the chat's next `seq` with `UPDATE chats SET last_seq = last_seq + 1 … RETURNING`
/// inside the same transaction as the insert: the row lock orders concurrent senders, and a failed
/// insert rolls the counter back, so `seq` has no gaps and no duplicates.
public struct MessageStore: Sendable {
    let engine: any DatabaseEngine
    let cipher: MessageCipher

    public init(engine: any DatabaseEngine, cipher: MessageCipher) {
        self.engine = engine
        self.cipher = cipher
    }

    /// Where a forwarded message came from.
    public struct ForwardOrigin: Sendable {
        public let messageID: UUID
        public let senderID: UUID?

        public init(messageID: UUID, senderID: UUID?) {
            self.messageID = messageID
            self.senderID = senderID
        }
    }

    /// Stores a message with the chat's next `seq`. The sender's read mark moves to it: sending
    /// implies having read the chat.
    public func append(
        _ draft: MessageDraft, from senderID: UUID, forwardedFrom origin: ForwardOrigin? = nil, at time: Timestamp
    ) async throws -> Message {
        let id = UUID()
        let sealed = try await cipher.seal(
            .init(
                content: draft.content, mediaURL: draft.mediaURL,
                attachments: draft.attachments.isEmpty ? nil : try jsonText(draft.attachments),
                metadata: try draft.metadata.map { try jsonText($0) }
            ),
            messageID: id, chatID: draft.chatID
        )
        return try await engine.write { sql in
            guard let seq = try await sql.raw("""
                UPDATE chats SET last_seq = last_seq + 1, last_activity_at = \(bind: time.milliseconds)
                WHERE id = \(bind: draft.chatID) RETURNING last_seq
                """).first()?.decode(column: "last_seq", as: Int64.self)
            else { throw CourierError.notFound("chat") }
            let message = Message(
                id: id, chatID: draft.chatID, seq: seq, senderID: senderID, content: draft.content, kind: draft.kind,
                mediaURL: draft.mediaURL, attachments: draft.attachments, metadata: draft.metadata, replyToID: draft.replyToID,
                forwardedFromID: origin?.messageID, forwardedFromSenderID: origin?.senderID,
                clientMessageID: draft.clientMessageID, createdAt: time, updatedAt: time, editedAt: nil, deletedAt: nil
            )
            try await sql.raw("""
                INSERT INTO messages (\(unsafeRaw: Message.columns))
                VALUES (\(bind: message.id), \(bind: message.chatID), \(bind: seq), \(bind: senderID), \(bind: sealed.content),
                        \(bind: message.kind.rawValue), \(bind: sealed.mediaURL), \(bind: sealed.attachments), \(bind: sealed.metadata),
                        \(bind: message.replyToID), \(bind: message.forwardedFromID), \(bind: message.forwardedFromSenderID),
                        \(bind: message.clientMessageID), \(bind: time.milliseconds), \(bind: time.milliseconds), NULL, NULL)
                """).run()
            try await sql.raw("""
                UPDATE chat_members SET last_read_seq = \(bind: seq) WHERE chat_id = \(bind: draft.chatID) AND user_id = \(bind: senderID)
                """).run()
            return message
        }
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
        var sealed: [(id: UUID, content: String)] = []
        sealed.reserveCapacity(contents.count)
        for content in contents {
            let id = UUID()
            sealed.append((id, try await cipher.sealContent(content, messageID: id, chatID: chatID)))
        }
        let rows = sealed
        return try await engine.write { sql in
            guard let last = try await sql.raw("""
                UPDATE chats SET last_seq = last_seq + \(bind: rows.count), last_activity_at = \(bind: time.milliseconds)
                WHERE id = \(bind: chatID) RETURNING last_seq
                """).first()?.decode(column: "last_seq", as: Int64.self)
            else { throw CourierError.notFound("chat") }
            let first = last - Int64(rows.count) + 1
            let values: [SQLQueryString] = rows.enumerated().map { index, row in
                """
                (\(bind: row.id), \(bind: chatID), \(bind: first + Int64(index)), \(bind: senderID), \(bind: row.content),
                 \(bind: MessageKind.text.rawValue), NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                 \(bind: time.milliseconds), \(bind: time.milliseconds), NULL, NULL)
                """
            }
            try await sql.raw("INSERT INTO messages (\(unsafeRaw: Message.columns)) VALUES \(values.joined(separator: ", "))").run()
            return last
        }
    }

    /// Whether an error from `append` means the sender already used this `client_msg_id`.
    public static func isDuplicateClientMessageID(_ error: any Error) -> Bool {
        UniqueViolation(error)?.isOn(table: "messages", column: "client_msg_id") ?? false
    }

    public func find(id: UUID) async throws -> Message? {
        let row = try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Message.columns) FROM messages WHERE id = \(bind: id)").first()
        }
        return try await row.asyncMap { try await cipher.message(from: $0) }
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

    /// A page of a chat's history as `viewerID` sees it (without what they deleted for themselves).
    /// Offset and `before` pages are newest first; `after` pages are oldest first, for catching up.
    public func page(of chatID: UUID, for viewerID: UUID, _ request: PageRequest) async throws -> MessagePage {
        let (rows, total, hasMore) = try await rows(of: chatID, for: viewerID, request)
        return MessagePage(messages: try await cipher.messages(from: rows), total: total, hasMore: hasMore)
    }

    private func rows(of chatID: UUID, for viewerID: UUID, _ request: PageRequest) async throws -> (rows: [any SQLRow], total: Int, hasMore: Bool) {
        try await engine.read { sql in
            let counts = try await sql.raw("""
                SELECT c.last_seq AS last_seq,
                       (SELECT COUNT(*) FROM hidden_messages h WHERE h.user_id = \(bind: viewerID) AND h.chat_id = c.id) AS hidden
                FROM chats c WHERE c.id = \(bind: chatID)
                """).first()
            // Messages are never removed, only cleared, and seq has no gaps: the count is last_seq.
            let lastSeq = try counts?.decode(column: "last_seq", as: Int.self) ?? 0
            let hidden = try counts?.decode(column: "hidden", as: Int.self) ?? 0
            let total = lastSeq - hidden
            let visible: SQLQueryString = """
                m.chat_id = \(bind: chatID)
                AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = \(bind: viewerID) AND h.message_id = m.id)
                """
            let select = "SELECT \(Message.columns(of: "m", prefix: "")) FROM messages m"
            switch request.position {
            case .offset(let offset) where hidden == 0:
                // Nothing hidden from this viewer: the message `offset` places from the newest has
                // seq last_seq - offset, so the page is an index range, not a scan past `offset` rows.
                let rows = try await sql.raw("""
                    \(unsafeRaw: select) WHERE m.chat_id = \(bind: chatID) AND m.seq <= \(bind: lastSeq - offset)
                    ORDER BY m.seq DESC LIMIT \(bind: request.limit)
                    """).all()
                return (rows, total, offset + rows.count < total)
            case .offset(let offset):
                let rows = try await sql.raw("""
                    \(unsafeRaw: select) WHERE \(visible) ORDER BY m.seq DESC LIMIT \(bind: request.limit) OFFSET \(bind: offset)
                    """).all()
                return (rows, total, offset + rows.count < total)
            case .before(let seq):
                let rows = try await sql.raw("""
                    \(unsafeRaw: select) WHERE \(visible) AND m.seq < \(bind: seq) ORDER BY m.seq DESC LIMIT \(bind: request.limit + 1)
                    """).all()
                return (Array(rows.prefix(request.limit)), total, rows.count > request.limit)
            case .after(let seq):
                let rows = try await sql.raw("""
                    \(unsafeRaw: select) WHERE \(visible) AND m.seq > \(bind: seq) ORDER BY m.seq ASC LIMIT \(bind: request.limit + 1)
                    """).all()
                return (Array(rows.prefix(request.limit)), total, rows.count > request.limit)
            }
        }
    }

    /// Replaces a message's text and marks it edited.
    public func edit(_ message: Message, content: String, at time: Timestamp) async throws -> Message? {
        let sealed = try await cipher.sealContent(content, messageID: message.id, chatID: message.chatID)
        let row = try await engine.write { sql in
            try await sql.raw("""
                UPDATE messages SET content = \(bind: sealed), edited_at = \(bind: time.milliseconds), updated_at = \(bind: time.milliseconds)
                WHERE id = \(bind: message.id) AND deleted_at IS NULL
                RETURNING \(unsafeRaw: Message.columns)
                """).first()
        }
        return try await row.asyncMap { try await cipher.message(from: $0) }
    }

    /// Deletes a message for everyone: its content, media and metadata are erased; its `seq` stays.
    public func deleteForEveryone(_ id: UUID, at time: Timestamp) async throws -> Message? {
        let row = try await engine.write { sql in
            try await sql.raw("""
                UPDATE messages SET content = '', media_url = NULL, attachments = NULL, metadata = NULL,
                    deleted_at = \(bind: time.milliseconds), updated_at = \(bind: time.milliseconds)
                WHERE id = \(bind: id) AND deleted_at IS NULL
                RETURNING \(unsafeRaw: Message.columns)
                """).first()
        }
        return try await row.asyncMap { try await cipher.message(from: $0) }
    }

    /// Hides a message from one person's view of the chat.
    public func hide(_ message: Message, for userID: UUID, at time: Timestamp) async throws {
        try await engine.write { sql in
            let hidden = try await sql.raw("""
                SELECT 1 AS present FROM hidden_messages WHERE user_id = \(bind: userID) AND message_id = \(bind: message.id)
                """).first()
            guard hidden == nil else { return }
            try await sql.raw("""
                INSERT INTO hidden_messages (user_id, message_id, chat_id, hidden_at)
                VALUES (\(bind: userID), \(bind: message.id), \(bind: message.chatID), \(bind: time.milliseconds))
                """).run()
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

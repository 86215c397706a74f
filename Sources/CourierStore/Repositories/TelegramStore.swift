import CourierCore
import Foundation
import SQLKit

/// Telegram account links, linking tokens, and the relay queue in `message_references`.
public struct TelegramStore: Sendable {
    let engine: any DatabaseEngine

    public init(engine: any DatabaseEngine) { self.engine = engine }

    /// How a linked user wants to be notified through Telegram.
    public enum RelayMode: String, Sendable, Codable, CaseIterable {
        /// Only while none of their devices is connected (the default).
        case offline
        case always
        case never
    }

    public struct Link: Sendable, Equatable {
        public let userID: UUID
        public let telegramChatID: Int64
        public let mode: RelayMode
        public let linkedAt: Timestamp
    }

    /// A relay job: one reference for one recipient's Telegram chat.
    public struct Job: Sendable, Equatable {
        public let reference: String
        public let telegramChatID: Int64
        public let messageType: String
        public let timestamp: Timestamp
        public let attempts: Int
        public var recipientID: UUID? = nil
        /// The recipient's mode is `offline`: the notice goes only if none of their devices is connected when it is sent.
        public var onlyIfOffline = false
    }

    // MARK: Links

    public func createLinkToken(hash: String, for userID: UUID, expiresAt: Timestamp) async throws {
        try await engine.write { sql in
            try await sql.raw("""
                INSERT INTO telegram_link_tokens (token_hash, user_id, expires_at, used_at)
                VALUES (\(bind: hash), \(bind: userID), \(bind: expiresAt.milliseconds), NULL)
                """).run()
        }
    }

    /// Spends a linking token and links its user to `telegramChatID` (replacing an earlier link of
    /// either). Returns the user, or nil for an unknown, used or expired token.
    public func link(tokenHash: String, to telegramChatID: Int64, at time: Timestamp) async throws -> UUID? {
        try await engine.write { sql in
            guard let userID = try await sql.raw("""
                UPDATE telegram_link_tokens SET used_at = \(bind: time.milliseconds)
                WHERE token_hash = \(bind: tokenHash) AND used_at IS NULL AND expires_at > \(bind: time.milliseconds)
                RETURNING user_id
                """).first()?.decode(column: "user_id", as: UUID.self)
            else { return nil }
            try await sql.raw("""
                DELETE FROM telegram_links WHERE user_id = \(bind: userID) OR telegram_chat_id = \(bind: telegramChatID)
                """).run()
            try await sql.raw("""
                INSERT INTO telegram_links (user_id, telegram_chat_id, relay_mode, linked_at)
                VALUES (\(bind: userID), \(bind: telegramChatID), 'offline', \(bind: time.milliseconds))
                """).run()
            return userID
        }
    }

    /// Removes a user's link; returns whether there was one.
    @discardableResult
    public func unlink(userID: UUID) async throws -> Bool {
        try await engine.write { sql in
            try await Self.dropPendingNotices(of: userID, on: sql)
            return try await sql.raw("DELETE FROM telegram_links WHERE user_id = \(bind: userID) RETURNING user_id").first() != nil
        }
    }

    /// Removes the link of a Telegram chat (the user sent /stop); returns the user it belonged to.
    public func unlink(telegramChatID: Int64) async throws -> UUID? {
        try await engine.write { sql in
            guard let userID = try await sql.raw("DELETE FROM telegram_links WHERE telegram_chat_id = \(bind: telegramChatID) RETURNING user_id")
                .first()?.decode(column: "user_id", as: UUID.self)
            else { return nil }
            try await Self.dropPendingNotices(of: userID, on: sql)
            return userID
        }
    }

    /// Changes the relay mode; `never` also drops the notices still waiting for that user.
    public func setMode(_ mode: RelayMode, for userID: UUID) async throws -> Bool {
        try await engine.write { sql in
            let changed = try await sql.raw("""
                UPDATE telegram_links SET relay_mode = \(bind: mode.rawValue) WHERE user_id = \(bind: userID) RETURNING user_id
                """).first() != nil
            if changed, mode == .never { try await Self.dropPendingNotices(of: userID, on: sql) }
            return changed
        }
    }

    /// Notices queued for `userID` and not sent yet: dropped when they unlink or turn the relay off,
    /// so nothing more goes to that Telegram chat.
    private static func dropPendingNotices(of userID: UUID, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            DELETE FROM message_references WHERE recipient_id = \(bind: userID) AND delivery_status = 'pending'
            """).run()
    }

    /// The links of those among `userIDs` who have one.
    public func links(of userIDs: [UUID]) async throws -> [Link] {
        guard !userIDs.isEmpty else { return [] }
        return try await engine.read { sql in
            try await sql.raw("""
                SELECT user_id, telegram_chat_id, relay_mode, linked_at FROM telegram_links WHERE user_id IN (\(anyOf: userIDs))
                """).all().map { row in
                    Link(
                        userID: try row.decode(column: "user_id", as: UUID.self),
                        telegramChatID: try row.decode(column: "telegram_chat_id", as: Int64.self),
                        mode: try row.decodeEnum(column: "relay_mode", as: RelayMode.self),
                        linkedAt: try row.decodeTimestamp(column: "linked_at")
                    )
                }
        }
    }

    // MARK: The relay queue

    /// Queues a notice of `message` for every linked member of its chat but the sender whose relay
    /// mode is not `never`, each under a new reference from `newReference`. Runs inside the
    /// message's transaction (`on sql`), so a stored message never lacks its notices.
    public static func enqueueNotices(for message: Message, newReference: () -> String, on sql: any SQLDatabase) async throws {
        let links = try await sql.raw("""
            SELECT l.user_id, l.telegram_chat_id, l.relay_mode FROM telegram_links l
            JOIN chat_members m ON m.user_id = l.user_id AND m.chat_id = \(bind: message.chatID)
            WHERE l.relay_mode <> 'never' AND l.telegram_chat_id IS NOT NULL
              AND (m.muted_until IS NULL OR m.muted_until <= \(bind: message.createdAt.milliseconds))
            """).all()
        let now = message.createdAt.milliseconds
        for link in links {
            let recipient = try link.decode(column: "user_id", as: UUID.self)
            guard recipient != message.senderID else { continue }
            let onlyIfOffline = try link.decode(column: "relay_mode", as: String.self) == "offline" ? 1 : 0
            try await sql.raw("""
                INSERT INTO message_references (reference, telegram_id, local_message_id, recipient_id, telegram_chat_id, message_type,
                    timestamp, delivery_status, attempts, next_attempt_at, last_error, created_at, updated_at, only_if_offline)
                VALUES (\(bind: newReference()), NULL, \(bind: message.id), \(bind: recipient),
                    \(bind: try link.decode(column: "telegram_chat_id", as: Int64.self)), \(bind: message.kind.rawValue), \(bind: now),
                    'pending', 0, 0, NULL, \(bind: now), \(bind: now), \(bind: onlyIfOffline))
                """).run()
        }
    }

    /// `enqueueNotices` as work alongside a message's transaction.
    public static func noticesAlongside(newReference: @escaping @Sendable () -> String) -> MessageStore.Alongside {
        { message, sql in try await enqueueNotices(for: message, newReference: newReference, on: sql) }
    }

    /// Drops queued notices that are not to be sent (their recipient is online), before they are sent.
    public func drop(_ references: [String]) async throws {
        guard !references.isEmpty else { return }
        try await engine.write { sql in
            try await sql.raw("""
                DELETE FROM message_references WHERE reference IN (\(anyOf: references)) AND delivery_status = 'pending'
                """).run()
        }
    }

    /// Pending jobs that are due, oldest first.
    public func dueJobs(at time: Timestamp, limit: Int) async throws -> [Job] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT reference, telegram_chat_id, message_type, timestamp, attempts, recipient_id, only_if_offline FROM message_references
                WHERE delivery_status = 'pending' AND next_attempt_at <= \(bind: time.milliseconds) AND telegram_chat_id IS NOT NULL
                ORDER BY timestamp, reference LIMIT \(bind: limit)
                """).all().map { row in
                    Job(
                        reference: try row.decode(column: "reference", as: String.self),
                        telegramChatID: try row.decode(column: "telegram_chat_id", as: Int64.self),
                        messageType: try row.decode(column: "message_type", as: String.self),
                        timestamp: try row.decodeTimestamp(column: "timestamp"),
                        attempts: try row.decode(column: "attempts", as: Int.self),
                        recipientID: try row.decode(column: "recipient_id", as: UUID?.self),
                        onlyIfOffline: try row.decode(column: "only_if_offline", as: Int.self) == 1
                    )
                }
        }
    }

    /// Marks jobs as being sent, right before the Bot API call. Returns those that were still
    /// pending (another node may have taken some).
    public func claim(_ references: [String], at time: Timestamp) async throws -> [String] {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE message_references SET delivery_status = 'sending', attempts = attempts + 1, updated_at = \(bind: time.milliseconds)
                WHERE reference IN (\(anyOf: references)) AND delivery_status = 'pending'
                RETURNING reference
                """).all().map { try $0.decode(column: "reference", as: String.self) }
        }
    }

    public func markSent(_ references: [String], telegramID: String, at time: Timestamp) async throws {
        try await update(references, status: "sent", telegramID: telegramID, error: nil, nextAttempt: nil, at: time)
    }

    /// Puts jobs back in the queue for `next`, recording why.
    public func retry(_ references: [String], at next: Timestamp, error: String, now: Timestamp) async throws {
        try await update(references, status: "pending", telegramID: nil, error: error, nextAttempt: next, at: now)
    }

    public func markFailed(_ references: [String], error: String, at time: Timestamp) async throws {
        try await update(references, status: "failed", telegramID: nil, error: error, nextAttempt: nil, at: time)
    }

    /// After a crash, jobs caught mid-send may or may not have reached Telegram. They are marked
    /// failed rather than sent again: a notification is never sent twice. Returns how many.
    @discardableResult
    public func failInterrupted(at time: Timestamp) async throws -> Int {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE message_references SET delivery_status = 'failed',
                    last_error = 'interrupted while sending; not retried so that it is never sent twice', updated_at = \(bind: time.milliseconds)
                WHERE delivery_status = 'sending' RETURNING reference
                """).all().count
        }
    }

    private func update(_ references: [String], status: String, telegramID: String?, error: String?, nextAttempt: Timestamp?, at time: Timestamp) async throws {
        guard !references.isEmpty else { return }
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE message_references SET delivery_status = \(bind: status), telegram_id = COALESCE(\(bind: telegramID), telegram_id),
                    last_error = \(bind: error), next_attempt_at = COALESCE(\(bind: nextAttempt?.milliseconds), next_attempt_at),
                    updated_at = \(bind: time.milliseconds)
                WHERE reference IN (\(anyOf: references))
                """).run()
        }
    }

    // MARK: References

    /// The message a reference points to.
    public func message(of reference: String) async throws -> UUID? {
        try await engine.read { sql in
            try await sql.raw("SELECT local_message_id FROM message_references WHERE reference = \(bind: reference)")
                .first()?.decode(column: "local_message_id", as: UUID.self)
        }
    }

    /// Records a reference made by an external relay (already delivered).
    public func register(reference: String, telegramID: String, messageID: UUID, messageType: String, at time: Timestamp) async throws {
        try await engine.write { sql in
            try await sql.raw("""
                INSERT INTO message_references (reference, telegram_id, local_message_id, recipient_id, telegram_chat_id, message_type,
                    timestamp, delivery_status, attempts, next_attempt_at, last_error, created_at, updated_at)
                VALUES (\(bind: reference), \(bind: telegramID), \(bind: messageID), NULL, NULL, \(bind: messageType),
                    \(bind: time.milliseconds), 'sent', 0, 0, NULL, \(bind: time.milliseconds), \(bind: time.milliseconds))
                """).run()
        }
    }

    /// References waiting to be sent (the relay's queue depth, for metrics).
    public func queueDepth() async throws -> Int {
        try await engine.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM message_references WHERE delivery_status = 'pending'").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Queue figures for the admin status.
    public struct Statistics: Sendable {
        public let byStatus: [String: Int]
        public let lastError: String?
    }

    public func statistics() async throws -> Statistics {
        try await engine.read { sql in
            let counts = try await sql.raw("SELECT delivery_status, COUNT(*) AS n FROM message_references GROUP BY delivery_status").all()
            let lastError = try await sql.raw("""
                SELECT last_error FROM message_references WHERE last_error IS NOT NULL ORDER BY updated_at DESC LIMIT 1
                """).first()?.decode(column: "last_error", as: String.self)
            return Statistics(
                byStatus: Dictionary(uniqueKeysWithValues: try counts.map {
                    (try $0.decode(column: "delivery_status", as: String.self), try $0.decode(column: "n", as: Int.self))
                }),
                lastError: lastError
            )
        }
    }
}

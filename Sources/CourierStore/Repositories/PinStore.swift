import CourierCore
import Foundation
import SQLKit

/// Pinned messages of a chat, newest pin first; each pin and unpin a chat update.
public struct PinStore: Sendable {
    let engine: any DatabaseEngine

    public init(engine: any DatabaseEngine) { self.engine = engine }

    /// Pins a chat can hold at most.
    public static let maxPins = 100

    /// Pins `message`; returns the `message_pinned` update, or nil when it was pinned already.
    public func pin(_ message: Message, by userID: UUID, at time: Timestamp) async throws -> ChatUpdate? {
        try await engine.write { sql in
            _ = try await MessageStore.lockedLiveRow(message.id, on: sql)
            // The chat's row too: two pins at once count one after the other.
            try await sql.raw("UPDATE chats SET last_pts = last_pts WHERE id = \(bind: message.chatID)").run()
            let pinned = try await sql.raw("""
                SELECT COUNT(*) AS n, SUM(CASE WHEN message_id = \(bind: message.id) THEN 1 ELSE 0 END) AS this
                FROM pinned_messages WHERE chat_id = \(bind: message.chatID)
                """).first()
            guard (try pinned?.decode(column: "this", as: Int?.self) ?? 0) == 0 else { return nil }
            guard (try pinned?.decode(column: "n", as: Int.self) ?? 0) < Self.maxPins else {
                throw CourierError(.conflict, code: "too_many_pins", message: "A chat holds at most \(Self.maxPins) pinned messages; unpin one first.")
            }
            try await sql.raw("""
                INSERT INTO pinned_messages (chat_id, message_id, pinned_by, pinned_at)
                VALUES (\(bind: message.chatID), \(bind: message.id), \(bind: userID), \(bind: time.milliseconds))
                """).run()
            return try await UpdateLog.record(.messagePinned, in: message.chatID, messageID: message.id, userID: userID, value: message.seq, at: time, on: sql)
        }
    }

    /// Unpins `message`; returns the `message_unpinned` update, or nil when it was not pinned.
    public func unpin(_ message: Message, by userID: UUID, at time: Timestamp) async throws -> ChatUpdate? {
        try await engine.write { sql in
            let removed = try await sql.raw("""
                DELETE FROM pinned_messages WHERE chat_id = \(bind: message.chatID) AND message_id = \(bind: message.id) RETURNING message_id
                """).first()
            guard removed != nil else { return nil }
            return try await UpdateLog.record(.messageUnpinned, in: message.chatID, messageID: message.id, userID: userID, value: message.seq, at: time, on: sql)
        }
    }

    /// The chat's pinned messages' ids, newest pin first.
    public func pinned(in chatID: UUID) async throws -> [(messageID: UUID, pinnedAt: Timestamp, pinnedBy: UUID?)] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT message_id, pinned_at, pinned_by FROM pinned_messages WHERE chat_id = \(bind: chatID) ORDER BY pinned_at DESC, message_id DESC
                """).all().map {
                (try $0.decode(column: "message_id", as: UUID.self), Timestamp(milliseconds: try $0.decode(column: "pinned_at", as: Int64.self)),
                 try $0.decode(column: "pinned_by", as: UUID?.self))
            }
        }
    }
}

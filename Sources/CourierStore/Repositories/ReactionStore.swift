import CourierCore
import Foundation
import SQLKit

/// Reactions to messages: one per person per message, each change a `reaction_changed` update of
/// the chat, in the same transaction.
public struct ReactionStore: Sendable {
    let engine: any DatabaseEngine

    public init(engine: any DatabaseEngine) { self.engine = engine }

    /// Sets (or with nil, removes) `userID`'s reaction to `message`. Returns the update, or nil
    /// when nothing changed (the same emoji again, or removing none).
    public func react(_ emoji: String?, to message: Message, by userID: UUID, at time: Timestamp) async throws -> ChatUpdate? {
        try await engine.write { sql in
            _ = try await MessageStore.lockedLiveRow(message.id, on: sql)
            let current = try await sql.raw("""
                SELECT emoji FROM message_reactions WHERE message_id = \(bind: message.id) AND user_id = \(bind: userID)
                """).first()?.decode(column: "emoji", as: String.self)
            guard current != emoji else { return nil }
            if let emoji {
                if current == nil {
                    try await sql.raw("""
                        INSERT INTO message_reactions (message_id, user_id, emoji, created_at)
                        VALUES (\(bind: message.id), \(bind: userID), \(bind: emoji), \(bind: time.milliseconds))
                        """).run()
                } else {
                    try await sql.raw("""
                        UPDATE message_reactions SET emoji = \(bind: emoji), created_at = \(bind: time.milliseconds)
                        WHERE message_id = \(bind: message.id) AND user_id = \(bind: userID)
                        """).run()
                }
            } else {
                try await sql.raw("DELETE FROM message_reactions WHERE message_id = \(bind: message.id) AND user_id = \(bind: userID)").run()
            }
            return try await UpdateLog.record(
                .reactionChanged, in: message.chatID, messageID: message.id, userID: userID, value: message.seq, detail: emoji, at: time, on: sql
            )
        }
    }

    /// The reactions under each of these messages: most used first (then first used first), with
    /// who reacted (earliest first, up to `Reaction.maxListed`).
    public func counts(of messageIDs: [UUID]) async throws -> [UUID: [ReactionCount]] {
        guard !messageIDs.isEmpty else { return [:] }
        let rows = try await engine.read { sql in
            try await sql.raw("""
                SELECT message_id, user_id, emoji FROM message_reactions WHERE message_id IN (\(binds: messageIDs)) ORDER BY created_at, user_id
                """).all()
        }
        var byMessage: [UUID: [ReactionCount]] = [:]
        for row in rows {
            let messageID = try row.decode(column: "message_id", as: UUID.self)
            let emoji = try row.decode(column: "emoji", as: String.self)
            let userID = try row.decode(column: "user_id", as: UUID.self).uuidString.lowercased()
            var counts = byMessage[messageID, default: []]
            if let index = counts.firstIndex(where: { $0.emoji == emoji }) {
                counts[index].count += 1
                if counts[index].userIDs.count < Reaction.maxListed { counts[index].userIDs.append(userID) }
            } else {
                counts.append(ReactionCount(emoji: emoji, count: 1, userIDs: [userID]))
            }
            byMessage[messageID] = counts
        }
        // Stable: equal counts keep the order of their first use.
        return byMessage.mapValues { counts in
            counts.enumerated().sorted { ($0.element.count, -$0.offset) > ($1.element.count, -$1.offset) }.map(\.element)
        }
    }

    /// `userID`'s own reaction to each of these messages that has one.
    public func mine(among messageIDs: [UUID], for userID: UUID) async throws -> [UUID: String] {
        guard !messageIDs.isEmpty else { return [:] }
        let rows = try await engine.read { sql in
            try await sql.raw("""
                SELECT message_id, emoji FROM message_reactions WHERE user_id = \(bind: userID) AND message_id IN (\(binds: messageIDs))
                """).all()
        }
        var mine: [UUID: String] = [:]
        for row in rows { mine[try row.decode(column: "message_id", as: UUID.self)] = try row.decode(column: "emoji", as: String.self) }
        return mine
    }
}

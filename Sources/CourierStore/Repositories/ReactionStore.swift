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

    /// The reactions under some messages, as a history page or a message shows them.
    public struct Summary: Sendable {
        /// Per message: most used first (then first used first), with who reacted (earliest
        /// first, up to `Reaction.maxListed`).
        public var counts: [UUID: [ReactionCount]] = [:]
        /// The viewer's own reaction to each message that has one.
        public var mine: [UUID: String] = [:]
    }

    /// The reactions under these messages, and `viewerID`'s own when given, in one read.
    public func summary(of messageIDs: [UUID], for viewerID: UUID?) async throws -> Summary {
        guard !messageIDs.isEmpty else { return Summary() }
        return try await engine.read { try await Self.summary(of: messageIDs, for: viewerID, on: $0) }
    }

    /// `summary(of:for:)` inside a read or transaction under way: one statement, whose rows give
    /// both the counts and the viewer's own.
    static func summary(of messageIDs: [UUID], for viewerID: UUID?, on sql: any SQLDatabase) async throws -> Summary {
        guard !messageIDs.isEmpty else { return Summary() }
        let rows = try await sql.raw("""
            SELECT message_id, user_id, emoji FROM message_reactions WHERE message_id IN (\(anyOf: messageIDs)) ORDER BY created_at, user_id
            """).all()
        var summary = Summary()
        for row in rows {
            let messageID = try row.decode(column: "message_id", as: UUID.self)
            let emoji = try row.decode(column: "emoji", as: String.self)
            let user = try row.decode(column: "user_id", as: UUID.self)
            if user == viewerID { summary.mine[messageID] = emoji }
            let userID = user.lowercasedString
            var counts = summary.counts[messageID, default: []]
            if let index = counts.firstIndex(where: { $0.emoji == emoji }) {
                counts[index].count += 1
                if counts[index].userIDs.count < Reaction.maxListed { counts[index].userIDs.append(userID) }
            } else {
                counts.append(ReactionCount(emoji: emoji, count: 1, userIDs: [userID]))
            }
            summary.counts[messageID] = counts
        }
        // Stable: equal counts keep the order of their first use.
        summary.counts = summary.counts.mapValues { counts in
            counts.enumerated().sorted { ($0.element.count, -$0.offset) > ($1.element.count, -$1.offset) }.map(\.element)
        }
        return summary
    }
}

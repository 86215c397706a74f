import CourierCore
import CourierStore
import Foundation

/// Reacting to messages: anyone who reads a message (channel subscribers too) may set one emoji
/// on it, replacing their previous one, or take it back.
public struct ReactionService: Sendable {
    let messages: MessageService
    let reactions: ReactionStore
    let events: EventPublisher

    /// Sets (`emoji`) or removes (nil) `userID`'s reaction; returns the message with its reactions
    /// now, as its reader sees them (in channels, counts only).
    public func react(_ rawEmoji: String?, to messageID: UUID, by userID: UUID, connection: UUID? = nil) async throws -> Message {
        let emoji = try rawEmoji.map { text throws(CourierError) in try Reaction.emoji(text) }
        let (message, access) = try await messages.message(messageID, for: userID)
        guard !message.isDeleted else { throw CourierError.notFound("message") }
        var current = message
        if let update = try await reactions.react(emoji, to: message, by: userID, at: .now()) {
            current = try await messages.current(messageID) ?? message
            await events.stored(LoggedUpdates(chat: [update]), messages: [current], excluding: connection)
        }
        current.myReaction = emoji
        return current.shown(in: access.chat.kind)
    }
}

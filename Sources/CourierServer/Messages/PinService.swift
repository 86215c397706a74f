import CourierCore
import CourierStore
import Foundation

/// Pinned messages: either side pins in a DM, owner and admins in groups and channels
/// (`ChatPolicy.canPin`); every member sees the pins, newest first.
public struct PinService: Sendable {
    let messages: MessageService
    let chats: ChatService
    let pins: PinStore
    let events: EventPublisher

    public func pin(_ messageID: UUID, by userID: UUID, connection: UUID? = nil) async throws -> Message {
        let message = try await pinnable(messageID, by: userID)
        if let update = try await pins.pin(message, by: userID, at: .now()) {
            await events.stored(LoggedUpdates(chat: [update]), messages: [], excluding: connection)
        }
        return message
    }

    public func unpin(_ messageID: UUID, by userID: UUID, connection: UUID? = nil) async throws {
        let message = try await pinnable(messageID, by: userID)
        if let update = try await pins.unpin(message, by: userID, at: .now()) {
            await events.stored(LoggedUpdates(chat: [update]), messages: [], excluding: connection)
        }
    }

    /// The chat's pinned messages, newest pin first, as `userID` may read them.
    public func pinned(in chatID: UUID, for userID: UUID) async throws -> [(message: Message, pinnedAt: Timestamp, pinnedBy: UUID?)] {
        _ = try await chats.memberAccess(chatID, for: userID)
        let pinned = try await pins.pinned(in: chatID)
        let found = try await messages.found(pinned.map(\.messageID), for: userID)
        return pinned.compactMap { pin in found[pin.messageID].map { ($0, pin.pinnedAt, pin.pinnedBy) } }
    }

    private func pinnable(_ messageID: UUID, by userID: UUID) async throws -> Message {
        let (message, access) = try await messages.message(messageID, for: userID)
        guard ChatPolicy.canPin(kind: access.chat.kind, role: access.membership.role) else {
            throw CourierError(.forbidden, code: "not_allowed_to_pin", message: "Only the chat's owner and admins pin messages here.")
        }
        guard !message.isDeleted else { throw CourierError.notFound("message") }
        return message
    }
}

import CourierCore
import CourierStore
import Foundation

/// Channels: one-to-many broadcast. A channel is a chat of kind `channel` (same id), so its posts
/// are messages with `seq`, paging, edits and deletes; what is channel-specific lives here.
///
/// Anyone who has a channel's id, or finds a public one by username, may see it and subscribe.
public struct ChannelService: Sendable {
    let chats: ChatStore
    let messages: MessageService
    let events: EventPublisher

    public init(chats: ChatStore, messages: MessageService, events: EventPublisher) {
        self.chats = chats
        self.messages = messages
        self.events = events
    }

    /// A channel as one person sees it.
    public struct View: Sendable {
        public let chat: Chat
        public let info: ChannelInfo
        /// The viewer's role, nil when not subscribed.
        public let role: ChatRole?
    }

    public func create(named rawName: String?, description rawDescription: String?, username rawUsername: String?, by ownerID: UUID) async throws -> View {
        let name = try ChatService.chatName(rawName)
        let info = ChannelInfo(
            username: try rawUsername.flatMap { $0.isEmpty ? nil : $0 }.map { raw throws(CourierError) in try Username(raw) },
            description: try Self.description(rawDescription)
        )
        let now = Timestamp.now()
        let chat = Chat(
            id: UUID.random(), kind: .channel, name: name, ownerID: ownerID, lastSeq: 0, memberCount: 1,
            lastActivityAt: now, createdAt: now, updatedAt: now
        )
        await events.stored(try await chats.create(chat, channel: info, ownerID: ownerID, memberIDs: [], memberRole: .subscriber))
        return View(chat: chat, info: info, role: .owner)
    }

    public func channel(_ id: UUID, for userID: UUID) async throws -> View {
        guard let found = try await chats.chat(id, asSeenBy: userID), found.chat.kind == .channel,
              let info = try await chats.channelInfo(id)
        else { throw CourierError.notFound("channel") }
        return View(chat: found.chat, info: info, role: found.membership?.role)
    }

    /// The public channel with this username.
    public func channel(username raw: String, for userID: UUID) async throws -> View {
        guard let username = try? Username(raw), let id = try await chats.channelID(username: username) else {
            throw CourierError.notFound("channel")
        }
        return try await channel(id, for: userID)
    }

    /// Subscribes; subscribing again changes nothing.
    public func subscribe(_ id: UUID, by userID: UUID) async throws -> View {
        _ = try await channel(id, for: userID)
        let result = try await chats.addMembers(
            [userID], to: id, role: .subscriber, limit: nil, kind: .channel, at: .now()
        )
        await events.stored(result.updates)
        return try await channel(id, for: userID)
    }

    /// Unsubscribes; the owner cannot (they may hand the channel over by leaving it through the members API).
    public func unsubscribe(_ id: UUID, by userID: UUID) async throws -> View {
        let view = try await channel(id, for: userID)
        if view.role == .owner {
            throw ChatService.forbidden("The owner cannot unsubscribe from their own channel.")
        }
        if view.role != nil {
            if let updates = try await chats.removeMember(userID, from: id, kind: .channel, at: .now()) {
                await events.stored(updates)
            }
        }
        return try await channel(id, for: userID)
    }

    /// A page of posts, for subscribers.
    public func posts(of id: UUID, for userID: UUID, _ page: PageRequest) async throws -> MessagePage {
        guard try await channel(id, for: userID).role != nil else {
            throw CourierError(.forbidden, code: "not_subscribed", message: "Subscribe to the channel to read its posts.")
        }
        return try await messages.history(of: id, for: userID, page)
    }

    /// Publishes a post; `MessageService` applies who may post, as for any chat. A channel is public,
    /// so someone not subscribed is refused as a subscriber would be, not told it does not exist.
    public func publish(_ draft: MessageDraft, by userID: UUID) async throws -> MessageService.Sent {
        guard try await channel(draft.chatID, for: userID).role != nil else { throw ChatService.notAllowedToPost(in: .channel) }
        return try await messages.send(draft, from: userID)
    }

    /// Changes name, description or username (owner and admins).
    public func update(
        _ id: UUID, name: String?, description: String??, username: String??, by userID: UUID
    ) async throws -> View {
        let view = try await channel(id, for: userID)
        guard let role = view.role, ChatPolicy.canEditInfo(kind: .channel, role: role) else {
            throw ChatService.forbidden("Only the channel's owner and admins can change it.")
        }
        let newUsername = try username.map { value throws(CourierError) in
            try value.flatMap { $0.isEmpty ? nil : $0 }.map { raw throws(CourierError) in try Username(raw) }
        }
        let newDescription = try description.map { value throws(CourierError) in try Self.description(value) }
        if let name {
            await events.stored(LoggedUpdates(chat: [try await chats.rename(id, to: try ChatService.chatName(name), at: .now())]))
        }
        if newUsername != nil || newDescription != nil {
            let update = try await chats.updateChannel(id, username: newUsername, description: newDescription, at: .now())
            await events.stored(LoggedUpdates(chat: [update]))
        }
        return try await channel(id, for: userID)
    }

    private static func description(_ raw: String?) throws(CourierError) -> String? {
        guard let text = raw?.trimmingWhitespace(), !text.isEmpty else { return nil }
        guard text.count <= ChatPolicy.maxDescriptionCharacters else {
            throw .invalid("description", "description must be at most \(ChatPolicy.maxDescriptionCharacters) characters.")
        }
        return text
    }
}

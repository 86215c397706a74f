import Foundation

/// A message in a chat (or a post in a channel). A message deleted for everyone stays as a
/// tombstone with its `seq`, content cleared, so that history has no gaps.
public struct Message: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var chatID: UUID
    public var seq: Int64
    public var senderID: UUID?
    public var content: String
    public var kind: MessageKind
    public var mediaURL: String?
    /// The ids of the media the message carries, in order.
    public var attachments: [String]
    /// What a client shows of each attachment (same order as `attachments`).
    public var media: [MediaAttachment]
    public var metadata: [String: JSONValue]?
    public var replyToID: UUID?
    public var forwardedFromID: UUID?
    public var forwardedFromSenderID: UUID?
    public var clientMessageID: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var editedAt: Timestamp?
    public var deletedAt: Timestamp?
    /// Reactions under it, most used first (filled where history and updates are read).
    public var reactions: [ReactionCount] = []
    /// The reaction of the person reading, where it was asked for (history pages).
    public var myReaction: String?

    public init(
        id: UUID, chatID: UUID, seq: Int64, senderID: UUID?, content: String, kind: MessageKind, mediaURL: String?,
        attachments: [String], metadata: [String: JSONValue]?, replyToID: UUID?, forwardedFromID: UUID?,
        forwardedFromSenderID: UUID?, clientMessageID: String?, createdAt: Timestamp, updatedAt: Timestamp,
        editedAt: Timestamp?, deletedAt: Timestamp?, media: [MediaAttachment] = []
    ) {
        self.id = id
        self.chatID = chatID
        self.seq = seq
        self.senderID = senderID
        self.content = content
        self.kind = kind
        self.mediaURL = mediaURL
        self.attachments = attachments
        self.media = media
        self.metadata = metadata
        self.replyToID = replyToID
        self.forwardedFromID = forwardedFromID
        self.forwardedFromSenderID = forwardedFromSenderID
        self.clientMessageID = clientMessageID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.editedAt = editedAt
        self.deletedAt = deletedAt
    }

    public var isDeleted: Bool { deletedAt != nil }

    /// The message as a chat of `kind` shows it: who reacted only where `ChatPolicy` says so.
    public func shown(in kind: ChatKind) -> Message {
        ChatPolicy.showsWhoReacted(kind: kind) ? self : withoutReactors()
    }

    /// The message with its reactions as counts only (channels do not show who reacted).
    public func withoutReactors() -> Message {
        var message = self
        message.reactions = reactions.map { ReactionCount(emoji: $0.emoji, count: $0.count, userIDs: []) }
        return message
    }
}

/// A page of history.
public struct MessagePage: Sendable, Equatable {
    public var messages: [Message]
    /// Messages in the chat visible to the reader.
    public var total: Int
    public var hasMore: Bool

    public init(messages: [Message], total: Int, hasMore: Bool) {
        self.messages = messages
        self.total = total
        self.hasMore = hasMore
    }
}

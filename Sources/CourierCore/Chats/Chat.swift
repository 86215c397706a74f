import Foundation

/// A conversation: DM, group or channel.
public struct Chat: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var kind: ChatKind
    public var name: String?
    public var ownerID: UUID?
    /// The `seq` of the newest message (0 when empty).
    public var lastSeq: Int64
    public var memberCount: Int
    /// When the chat last had a message (or was created): the order of the chat list.
    public var lastActivityAt: Timestamp
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// The position of the chat's newest update: a device that loaded the chat as it is now
    /// catches up from here.
    public var pts: Int64

    public init(
        id: UUID, kind: ChatKind, name: String?, ownerID: UUID?, lastSeq: Int64, memberCount: Int,
        lastActivityAt: Timestamp, createdAt: Timestamp, updatedAt: Timestamp, pts: Int64 = 0
    ) {
        self.pts = pts
        self.id = id
        self.kind = kind
        self.name = name
        self.ownerID = ownerID
        self.lastSeq = lastSeq
        self.memberCount = memberCount
        self.lastActivityAt = lastActivityAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One person's place in a chat.
public struct ChatMembership: Sendable, Equatable {
    public var chatID: UUID
    public var userID: UUID
    public var role: ChatRole
    public var joinedAt: Timestamp
    /// The newest `seq` this member has read.
    public var lastReadSeq: Int64

    public init(chatID: UUID, userID: UUID, role: ChatRole, joinedAt: Timestamp, lastReadSeq: Int64) {
        self.chatID = chatID
        self.userID = userID
        self.role = role
        self.joinedAt = joinedAt
        self.lastReadSeq = lastReadSeq
    }
}

/// The public face of a channel: what its chat row does not hold.
public struct ChannelInfo: Sendable, Equatable {
    public var username: Username?
    public var description: String?

    public init(username: Username?, description: String?) {
        self.username = username
        self.description = description
    }
}

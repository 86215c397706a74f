import Foundation

/// One change that concerns a person rather than a chat everyone in it sees, at its position `pts`
/// in the person's own update log: every device of theirs catches up on it.
public struct AccountUpdate: Sendable, Equatable {
    public var userID: UUID
    public var pts: Int64
    public var kind: Kind
    /// The chat concerned (joined, left, read, a message hidden in it).
    public var chatID: UUID?
    /// `message_hidden`: the message.
    public var messageID: UUID?
    /// Membership changes of a channel: the member concerned.
    public var subjectID: UUID?
    /// `chat_joined`: the chat's `pts` when they joined (catch up from there); `read`: the `seq`;
    /// `premium_changed`: 1 for premium, 0 for not.
    public var value: Int64?
    /// `session_revoked`: the session; `role_changed`: the new role.
    public var detail: String?
    public var createdAt: Timestamp

    public init(
        userID: UUID, pts: Int64, kind: Kind, chatID: UUID? = nil, messageID: UUID? = nil, subjectID: UUID? = nil,
        value: Int64? = nil, detail: String? = nil, createdAt: Timestamp
    ) {
        self.subjectID = subjectID
        self.userID = userID
        self.pts = pts
        self.kind = kind
        self.chatID = chatID
        self.messageID = messageID
        self.value = value
        self.detail = detail
        self.createdAt = createdAt
    }

    public enum Kind: String, Sendable, CaseIterable {
        /// Added to a chat, created one, subscribed to a channel.
        case chatJoined = "chat_joined"
        /// Left, was removed, unsubscribed.
        case chatLeft = "chat_left"
        /// Their own read mark in a channel (in groups and DMs reads are chat updates).
        case read
        /// A message deleted for them only.
        case messageHidden = "message_hidden"
        case premiumChanged = "premium_changed"
        case sessionRevoked = "session_revoked"
        /// A channel's subscribers coming, going and changing role: news for its owner and admins
        /// (and the member concerned) only, so it goes to their own logs, not the channel's.
        case memberAdded = "member_added"
        case memberRemoved = "member_removed"
        case roleChanged = "role_changed"
        /// Their own settings of a chat in their list changed (`detail`: `ChatListSettings.encoded`).
        case chatSettingsChanged = "chat_settings_changed"
        /// Their draft in a chat changed (the chat's summary has it).
        case draftChanged = "draft_changed"
    }
}

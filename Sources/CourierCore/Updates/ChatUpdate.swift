import Foundation

/// One change in a chat, at its position `pts` in the chat's update log.
///
/// Each chat numbers its changes 1, 2, 3 … without gaps (`pts`, as Telegram calls it), in the same
/// transaction as the change, so a device that holds a chat's `pts` knows exactly what it has seen
/// and can ask for the rest. The update names what changed; the current state is read when it is
/// delivered. Everyone in the chat sees every update of its log (what only some may see, such as a
/// channel's subscribers coming and going, goes to those people's own logs instead), so a member's
/// positions never skip.
public struct ChatUpdate: Sendable, Equatable {
    public var chatID: UUID
    public var pts: Int64
    public var kind: Kind
    /// The message concerned (`new_message`, `message_edited`, `message_deleted`).
    public var messageID: UUID?
    /// The person concerned (`read`: the reader; membership changes: the member).
    public var userID: UUID?
    /// `read`: the `seq` read up to; `message_deleted`: the message's `seq`.
    public var value: Int64?
    /// `role_changed`: the new role.
    public var detail: String?
    public var createdAt: Timestamp

    public init(
        chatID: UUID, pts: Int64, kind: Kind, messageID: UUID? = nil, userID: UUID? = nil, value: Int64? = nil,
        detail: String? = nil, createdAt: Timestamp
    ) {
        self.chatID = chatID
        self.pts = pts
        self.kind = kind
        self.messageID = messageID
        self.userID = userID
        self.value = value
        self.detail = detail
        self.createdAt = createdAt
    }

    public enum Kind: String, Sendable, CaseIterable {
        case newMessage = "new_message"
        case messageEdited = "message_edited"
        case messageDeleted = "message_deleted"
        case read
        case memberAdded = "member_added"
        case memberRemoved = "member_removed"
        case roleChanged = "role_changed"
        case chatUpdated = "chat_updated"
        /// Someone's reaction to a message changed (`userID`; `detail`: the new emoji, nil when removed).
        case reactionChanged = "reaction_changed"
        /// A message was pinned (`userID`: by whom) or unpinned.
        case messagePinned = "message_pinned"
        case messageUnpinned = "message_unpinned"

        /// Whether the update's frame carries its message as it is now (reactions included).
        public var carriesMessage: Bool { self == .newMessage || self == .messageEdited || self == .reactionChanged }
    }
}

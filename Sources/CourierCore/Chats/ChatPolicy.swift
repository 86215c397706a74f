/// Who may do what in a chat: every permission rule of chats, groups and channels, in one place.
///
/// Pure functions of the chat's kind and the actors' roles, so REST, WebSocket and the Telegram
/// relay reach the same verdicts.
public enum ChatPolicy {
    /// Members a group may hold when its owner is not premium.
    public static let freeGroupMemberLimit = 200
    /// The longest group or channel name.
    public static let maxNameCharacters = 255
    /// The longest channel description.
    public static let maxDescriptionCharacters = 1000
    /// How many members one request may add.
    public static let maxMembersPerRequest = 200

    /// The member limit of a chat, or nil when unlimited.
    public static func memberLimit(kind: ChatKind, ownerIsPremium: Bool) -> Int? {
        switch kind {
        case .dm: 2
        case .group: ownerIsPremium ? nil : freeGroupMemberLimit
        case .channel: nil
        }
    }

    /// Whether a member with `role` may post messages.
    public static func canPost(kind: ChatKind, role: ChatRole) -> Bool {
        switch kind {
        case .dm, .group: role >= .member
        case .channel: role.isAdmin
        }
    }

    /// Whether `role` may rename the chat or change its description.
    public static func canEditInfo(kind: ChatKind, role: ChatRole) -> Bool {
        kind != .dm && role.isAdmin
    }

    /// Whether `role` may pin and unpin messages: either side of a DM, owner and admins elsewhere.
    public static func canPin(kind: ChatKind, role: ChatRole) -> Bool {
        kind == .dm || role.isAdmin
    }

    /// Whether `role` may add people to the chat (channels grow by subscription instead).
    public static func canAddMembers(kind: ChatKind, role: ChatRole) -> Bool {
        kind == .group && role.isAdmin
    }

    /// Whether `actor` may remove a member with role `target` (not themselves: that is leaving).
    public static func canRemove(kind: ChatKind, actor: ChatRole, target: ChatRole) -> Bool {
        kind != .dm && actor.isAdmin && actor > target
    }

    /// Whether `actor` may make someone an admin or take it back.
    public static func canChangeRoles(kind: ChatKind, actor: ChatRole) -> Bool {
        kind != .dm && actor == .owner
    }

    /// Whether a member may leave (a DM is not left; its owner hands a group over when leaving).
    public static func canLeave(kind: ChatKind) -> Bool {
        kind != .dm
    }

    /// Whether a message's reactions show who reacted: counts only in channels, whose subscribers
    /// never learn of each other.
    public static func showsWhoReacted(kind: ChatKind) -> Bool {
        kind != .channel
    }

    /// Whether `role` may see the member list (channels show it to their admins only).
    public static func canListMembers(kind: ChatKind, role: ChatRole) -> Bool {
        kind != .channel || role.isAdmin
    }

    /// Whether `role` may change the text of a message (`isSender`: the one who sent it). In a
    /// channel, posts belong to the channel: its current owner and admins edit them, and an admin
    /// who was demoted no longer can, not even their own.
    public static func canEdit(kind: ChatKind, role: ChatRole, isSender: Bool) -> Bool {
        switch kind {
        case .dm, .group: isSender
        case .channel: role.isAdmin
        }
    }

    /// Whether `role` may delete a message for everyone (`isSender`: the one who sent it). Group
    /// admins delete anyone's; channel posts, as with editing, only the channel's current admins.
    public static func canDeleteForEveryone(kind: ChatKind, role: ChatRole, isSender: Bool) -> Bool {
        switch kind {
        case .dm: isSender
        case .group: isSender || role.isAdmin
        case .channel: role.isAdmin
        }
    }

    /// Whether everyone in a chat of `kind` sees its membership changes (joins, leaves, roles): in
    /// groups and DMs they do; in a channel only its owner and admins (and the member concerned) do,
    /// since subscribers never learn about each other.
    public static func membershipIsSeenByAll(kind: ChatKind) -> Bool {
        kind != .channel
    }

    /// The role a person joining a chat of `kind` gets.
    public static func joiningRole(for kind: ChatKind) -> ChatRole {
        kind == .channel ? .subscriber : .member
    }
}

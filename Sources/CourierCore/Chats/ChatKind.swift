/// What kind of conversation a chat is.
public enum ChatKind: String, Sendable, Codable, CaseIterable {
    /// Two people, one chat per pair.
    case dm
    /// Many people who all write; owner, admins and members.
    case group
    /// One-to-many broadcast: owner and admins post, subscribers read.
    case channel
}

/// A member's standing in a chat.
public enum ChatRole: String, Sendable, Codable, CaseIterable, Comparable {
    case subscriber
    case member
    case admin
    case owner

    private var rank: Int {
        switch self {
        case .subscriber: 0
        case .member: 1
        case .admin: 2
        case .owner: 3
        }
    }

    public static func < (lhs: ChatRole, rhs: ChatRole) -> Bool { lhs.rank < rhs.rank }

    /// Owner and admins manage a chat.
    public var isAdmin: Bool { self >= .admin }
}

import Foundation

/// A Courier account as the rest of the system sees it. The password hash is not part of it:
/// only the account service reads credentials, through the store's dedicated query.
public struct User: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var phone: PhoneNumber
    public var email: EmailAddress?
    public var username: Username
    public var bio: String?
    public var avatarURL: String?
    public var isPremium: Bool
    /// An account a program drives through the Bot API, owned by a person.
    public var isBot: Bool
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: UUID, phone: PhoneNumber, email: EmailAddress?, username: Username, bio: String?,
        avatarURL: String?, isPremium: Bool, isBot: Bool = false, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.isBot = isBot
        self.id = id
        self.phone = phone
        self.email = email
        self.username = username
        self.bio = bio
        self.avatarURL = avatarURL
        self.isPremium = isPremium
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

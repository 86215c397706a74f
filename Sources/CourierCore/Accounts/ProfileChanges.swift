/// The profile fields a person may change about themselves; `nil` leaves a field as it is,
/// `.some(nil)` clears an optional one.
public struct ProfileChanges: Sendable, Equatable {
    public var username: Username?
    public var email: EmailAddress??
    public var bio: String??
    public var avatarURL: String??

    public init(username: Username? = nil, email: EmailAddress?? = nil, bio: String?? = nil, avatarURL: String?? = nil) {
        self.username = username
        self.email = email
        self.bio = bio
        self.avatarURL = avatarURL
    }

    public var isEmpty: Bool { username == nil && email == nil && bio == nil && avatarURL == nil }
}

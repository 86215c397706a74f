import CourierCore
import CourierStore
import Foundation

/// Profiles: reading one's own, changing it, and finding other people.
public struct UserService: Sendable {
    let users: UserStore

    public init(users: UserStore) { self.users = users }

    public func user(id: UUID) async throws -> User {
        guard let user = try await users.find(id: id) else { throw CourierError.notFound("user") }
        return user
    }

    /// Finds one person by exact username or phone, to start a chat with them.
    public func lookup(_ identifier: LoginIdentifier) async throws -> User {
        guard let user = try await users.find(identifier) else { throw CourierError.notFound("user") }
        return user
    }

    public func updateProfile(of userID: UUID, _ changes: ProfileChanges) async throws -> User {
        if let bio = changes.bio, let bio, bio.count > ProfileLimits.bioCharacters {
            throw CourierError.invalid("bio", "Bio must be at most \(ProfileLimits.bioCharacters) characters.")
        }
        if let avatarURL = changes.avatarURL, let avatarURL {
            try Self.validateAvatarURL(avatarURL)
        }
        if let username = changes.username, username.isBotName, try await user(id: userID).username != username {
            throw Username.keptForBots
        }
        guard !changes.isEmpty else { return try await user(id: userID) }
        guard let updated = try await users.update(id: userID, changes, at: .now()) else { throw CourierError.notFound("user") }
        return updated
    }

    private static func validateAvatarURL(_ text: String) throws(CourierError) {
        let invalid = CourierError.invalid("avatar_url", "avatar_url must be an http(s) URL of at most \(ProfileLimits.avatarURLBytes) bytes.")
        guard WebURL.isValid(text, maxBytes: ProfileLimits.avatarURLBytes) else { throw invalid }
    }
}

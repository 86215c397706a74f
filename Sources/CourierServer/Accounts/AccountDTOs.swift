import CourierCore
import Foundation
import Hummingbird

// Request and response bodies of the account routes. Requests hold raw values; the services
// validate them, so every transport gets the same rules and messages.

struct RegisterRequest: Decodable {
    let phone: String
    let email: String?
    let password: String
    let username: String
    let deviceName: String?

    enum CodingKeys: String, CodingKey {
        case phone, email, password, username
        case deviceName = "device_name"
    }

    func registration() throws(CourierError) -> AuthService.Registration {
        AuthService.Registration(
            phone: try PhoneNumber(phone),
            email: try email.flatMap { $0.isEmpty ? nil : $0 }.map { raw throws(CourierError) in try EmailAddress(raw) },
            username: try Username(username),
            password: try Password(password)
        )
    }
}

struct LoginRequest: Decodable {
    let phone: String?
    let username: String?
    let email: String?
    let password: String
    let deviceName: String?
    let totpCode: String?
    let recoveryCode: String?

    enum CodingKeys: String, CodingKey {
        case phone, username, email, password
        case deviceName = "device_name"
        case totpCode = "totp_code"
        case recoveryCode = "recovery_code"
    }

    /// The one identifier given. An identifier that cannot be valid is reported like a wrong
    /// password, so the answer never hints at which accounts exist.
    func identifier() throws(CourierError) -> LoginIdentifier? {
        let given = [phone, username, email].compactMap { $0 }
        guard given.count == 1 else {
            throw CourierError(.badRequest, code: "invalid_request", message: "Give exactly one of phone, username or email, with password.")
        }
        if let phone { return try? .phone(PhoneNumber(phone)) }
        if let username { return try? .username(Username(username)) }
        if let email { return try? .email(EmailAddress(email)) }
        return nil
    }
}

struct RefreshRequest: Decodable {
    let refreshToken: String

    enum CodingKeys: String, CodingKey {
        case refreshToken = "refresh_token"
    }
}

/// `PATCH /users/me`: a field left out stays as it is; `null` clears `email`, `bio` or `avatar_url`.
struct UpdateProfileRequest: Decodable {
    let username: String?
    let email: String??
    let bio: String??
    let avatarURL: String??

    enum CodingKeys: String, CodingKey {
        case username, email, bio
        case avatarURL = "avatar_url"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        username = try container.decodeIfPresent(String.self, forKey: .username)
        email = try container.decodeUpdate(forKey: .email)
        bio = try container.decodeUpdate(forKey: .bio)
        avatarURL = try container.decodeUpdate(forKey: .avatarURL)
    }

    func changes() throws(CourierError) -> ProfileChanges {
        ProfileChanges(
            username: try username.map { raw throws(CourierError) in try Username(raw) },
            email: try email.map { value throws(CourierError) in
                try value.flatMap { $0.isEmpty ? nil : $0 }.map { raw throws(CourierError) in try EmailAddress(raw) }
            },
            bio: bio.map { $0.map { $0.trimmingWhitespace() }.flatMap { $0.isEmpty ? nil : $0 } },
            avatarURL: avatarURL.map { $0.flatMap { $0.isEmpty ? nil : $0 } }
        )
    }
}

extension KeyedDecodingContainer {
    /// Absent → nil (leave unchanged); `null` → .some(nil) (clear); a value → .some(value).
    func decodeUpdate<T: Decodable>(_ type: T.Type = T.self, forKey key: Key) throws -> T?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(T.self, forKey: key))
    }
}

/// The signed-in user's own profile, with the private fields.
struct UserResponse: ResponseEncodable {
    let id: String
    let phone: String
    let email: String?
    let username: String
    let bio: String?
    let avatarURL: String?
    let isPremium: Bool
    let isBot: Bool
    let createdAt: Timestamp
    let updatedAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case id, phone, email, username, bio
        case avatarURL = "avatar_url"
        case isPremium = "is_premium"
        case isBot = "is_bot"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    init(_ user: User) {
        id = user.id.lowercasedString
        phone = user.phone.value
        email = user.email?.value
        username = user.username.value
        bio = user.bio
        avatarURL = user.avatarURL
        isPremium = user.isPremium
        isBot = user.isBot
        createdAt = user.createdAt
        updatedAt = user.updatedAt
    }
}

/// What anyone signed in may see of another person: never their phone or e-mail.
struct PublicUserResponse: ResponseEncodable {
    let id: String
    let username: String
    let bio: String?
    let avatarURL: String?
    let isPremium: Bool
    let isBot: Bool
    let createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case id, username, bio
        case avatarURL = "avatar_url"
        case isPremium = "is_premium"
        case isBot = "is_bot"
        case createdAt = "created_at"
    }

    init(_ user: User) {
        id = user.id.lowercasedString
        username = user.username.value
        bio = user.bio
        avatarURL = user.avatarURL
        isPremium = user.isPremium
        isBot = user.isBot
        createdAt = user.createdAt
    }
}

struct TokensResponse: ResponseEncodable {
    let sessionID: String
    let token: String
    let tokenExpiresAt: Timestamp
    let refreshToken: String
    let refreshTokenExpiresAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case token
        case sessionID = "session_id"
        case tokenExpiresAt = "token_expires_at"
        case refreshToken = "refresh_token"
        case refreshTokenExpiresAt = "refresh_token_expires_at"
    }

    init(_ pair: AuthService.TokenPair) {
        sessionID = pair.sessionID.lowercasedString
        token = pair.accessToken
        tokenExpiresAt = pair.accessTokenExpiresAt
        refreshToken = pair.refreshToken
        refreshTokenExpiresAt = pair.refreshTokenExpiresAt
    }
}

/// Registration and login: the user with a fresh token pair.
struct SignedInResponse: ResponseEncodable {
    let user: UserResponse
    let tokens: TokensResponse

    func encode(to encoder: any Encoder) throws {
        // Flat, as the contract shows: {user, token, refresh_token, …}.
        var container = encoder.container(keyedBy: UserKey.self)
        try container.encode(user, forKey: .user)
        try tokens.encode(to: encoder)
    }

    private enum UserKey: String, CodingKey { case user }

    init(_ signedIn: AuthService.SignedIn) {
        user = UserResponse(signedIn.user)
        tokens = TokensResponse(signedIn.tokens)
    }
}

struct SessionResponse: Encodable {
    let id: String
    let deviceName: String?
    let ipAddress: String?
    let createdAt: Timestamp
    let lastSeenAt: Timestamp
    let expiresAt: Timestamp
    let current: Bool

    enum CodingKeys: String, CodingKey {
        case id, current
        case deviceName = "device_name"
        case ipAddress = "ip_address"
        case createdAt = "created_at"
        case lastSeenAt = "last_seen_at"
        case expiresAt = "expires_at"
    }

    init(_ session: DeviceSession, current: Bool) {
        id = session.id.lowercasedString
        deviceName = session.deviceName
        ipAddress = session.ipAddress
        createdAt = session.createdAt
        lastSeenAt = session.lastSeenAt
        expiresAt = session.expiresAt
        self.current = current
    }
}

struct SessionListResponse: ResponseEncodable {
    let sessions: [SessionResponse]
}

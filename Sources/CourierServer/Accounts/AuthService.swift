import CourierCore
import CourierRealtime
import CourierStore
import Foundation

/// Registration, sign-in, token refresh and device sessions: every rule about who is signed in.
///
/// REST routes and (later) the WebSocket gateway both authenticate through `authenticate(accessToken:)`,
/// so a signed-out device loses access on every transport at once.
public struct AuthService: Sendable {
    let users: UserStore
    let sessions: SessionStore
    let tokens: TokenService
    let passwords: PasswordHasher
    let limiter: RateLimiter
    let audit: AuditService
    let twoFactor: TwoFactorService
    let lockout: AccountLockout
    /// Tells every node when sessions end, so their sockets close at once.
    let events: EventPublisher

    public init(
        users: UserStore, sessions: SessionStore, tokens: TokenService, passwords: PasswordHasher, limiter: RateLimiter,
        audit: AuditService, twoFactor: TwoFactorService, events: EventPublisher
    ) {
        self.users = users
        self.sessions = sessions
        self.tokens = tokens
        self.passwords = passwords
        self.limiter = limiter
        self.audit = audit
        self.twoFactor = twoFactor
        self.lockout = AccountLockout(limiter: limiter)
        self.events = events
    }

    /// The second factor a sign-in brings, when the account has two-factor authentication on.
    public struct SecondFactor: Sendable {
        public let code: String?
        public let recoveryCode: String?

        public init(code: String? = nil, recoveryCode: String? = nil) {
            self.code = code
            self.recoveryCode = recoveryCode
        }
    }

    /// What a client holds after signing in.
    public struct SignedIn: Sendable {
        public let user: User
        public let tokens: TokenPair
    }

    /// An access token with its refresh token.
    public struct TokenPair: Sendable {
        public let sessionID: UUID
        public let accessToken: String
        public let accessTokenExpiresAt: Timestamp
        public let refreshToken: String
        public let refreshTokenExpiresAt: Timestamp
    }

    /// The device a request comes from, as recorded on its session.
    public struct Device: Sendable {
        public let name: String?
        public let ipAddress: String?

        public init(name: String?, ipAddress: String?) {
            self.name = name.map { String($0.prefix(ProfileLimits.deviceNameCharacters)) }
            self.ipAddress = ipAddress.map { String($0.prefix(64)) }
        }
    }

    public struct Registration: Sendable {
        public let phone: PhoneNumber
        public let email: EmailAddress?
        public let username: Username
        public let password: Password

        public init(phone: PhoneNumber, email: EmailAddress?, username: Username, password: Password) {
            self.phone = phone
            self.email = email
            self.username = username
            self.password = password
        }
    }

    private static let invalidCredentials = CourierError.unauthorized(
        "The account or password is not correct.", code: "invalid_credentials"
    )

    /// Creates an account and signs its first device in.
    public func register(_ registration: Registration, device: Device) async throws -> SignedIn {
        try await limiter.take("register-ip:\(device.ipAddress ?? "unknown")", limiter.settings.registerPerIP)
        guard !registration.username.isBotName else { throw Username.keptForBots }
        // Cheap checks first, so a taken name costs no bcrypt; the unique indexes stay the final word.
        if try await users.find(.phone(registration.phone)) != nil { throw CourierError.taken("phone") }
        if let email = registration.email, try await users.find(.email(email)) != nil { throw CourierError.taken("email") }
        if try await users.find(.username(registration.username)) != nil { throw CourierError.taken("username") }

        let now = Timestamp.now()
        let user = User(
            id: UUID.random(), phone: registration.phone, email: registration.email, username: registration.username,
            bio: nil, avatarURL: nil, isPremium: false, createdAt: now, updatedAt: now
        )
        try await users.create(user, passwordHash: try await passwords.hash(registration.password))
        let signedIn = SignedIn(user: user, tokens: try await startSession(for: user.id, device: device, at: now))
        await audit.record(.init(action: "register", actorID: user.id, ipAddress: device.ipAddress, details: ["session_id": signedIn.tokens.sessionID.lowercasedString]))
        return signedIn
    }

    /// Signs a device in with an account identifier and password. Wrong password and unknown account
    /// get the same answer, after the same amount of work.
    ///
    /// Limited per IP address, and per account after repeated failures (429 with `Retry-After`): the
    /// lock holds whichever of the account's names is tried next. With two-factor authentication
    /// on, the password alone answers 401 `two_factor_required`.
    public func login(
        _ identifier: LoginIdentifier?, password: String, secondFactor: SecondFactor = .init(), device: Device
    ) async throws -> SignedIn {
        try await limiter.take("login-ip:\(device.ipAddress ?? "unknown")", limiter.settings.loginPerIP)
        let credentials = try await identifier.asyncMap { try await users.credentials(for: $0) } ?? nil
        let account: AccountLockout.Account? = credentials.map { .user($0.user.id) } ?? identifier.map { .unknown($0) }
        if let account { try await lockout.check(account) }
        guard try await passwords.verify(password, against: credentials?.passwordHash), let user = credentials?.user else {
            if let account { await lockout.recordFailure(account) }
            await audit.record(.init(
                action: "login", outcome: .failure, subjectID: credentials?.user.id, ipAddress: device.ipAddress,
                details: ["reason": credentials == nil ? "unknown_account" : "wrong_password"]
            ))
            throw Self.invalidCredentials
        }
        do {
            try await twoFactor.verifySecondFactor(for: user.id, code: secondFactor.code, recoveryCode: secondFactor.recoveryCode)
        } catch let error as CourierError {
            if error.code == TwoFactorService.wrongCode.code { await lockout.recordFailure(.user(user.id)) }
            await audit.record(.init(action: "login", outcome: .failure, subjectID: user.id, ipAddress: device.ipAddress, details: ["reason": error.code]))
            throw error
        }
        await lockout.reset(.user(user.id))
        let signedIn = SignedIn(user: user, tokens: try await startSession(for: user.id, device: device, at: .now()))
        await audit.record(.init(action: "login", actorID: user.id, ipAddress: device.ipAddress, details: ["session_id": signedIn.tokens.sessionID.lowercasedString]))
        return signedIn
    }

    /// Exchanges a refresh token for a new pair. Each refresh token works once; presenting a spent one
    /// signs the whole session out, because only a thief would still have it.
    public func refresh(refreshToken: String, device: Device) async throws -> TokenPair {
        let now = Timestamp.now()
        let newToken = SecretToken.random()
        let expiresAt = now.adding(seconds: TokenService.refreshTokenLifetime)
        let outcome = try await sessions.rotate(
            presentedHash: SecretToken.hash(refreshToken), newHash: SecretToken.hash(newToken),
            at: now, expiresAt: expiresAt, ipAddress: device.ipAddress
        )
        switch outcome {
        case .rotated(let session):
            await audit.record(.init(action: "token_refresh", actorID: session.userID, ipAddress: device.ipAddress, details: ["session_id": session.id.lowercasedString]))
            let access = try await tokens.accessToken(for: AuthenticatedUser(userID: session.userID, sessionID: session.id), at: now)
            return TokenPair(
                sessionID: session.id, accessToken: access.token, accessTokenExpiresAt: access.expiresAt,
                refreshToken: newToken, refreshTokenExpiresAt: expiresAt
            )
        case .unknown, .expired:
            throw CourierError.unauthorized("The refresh token is not valid; sign in again.", code: "refresh_token_invalid")
        case .reused(let sessionID):
            let owner = try await sessions.find(id: sessionID)?.userID
            if let owner { await events.sessionsEnded(SessionsEnded(userID: owner, sessionIDs: [sessionID])) }
            await audit.record(.init(
                action: "refresh_token_reuse", outcome: .denied, subjectID: owner, ipAddress: device.ipAddress,
                details: ["session_id": sessionID.lowercasedString, "effect": "session_revoked"]
            ))
            throw CourierError.unauthorized(
                "This refresh token was already used; the session has been signed out for safety.", code: "refresh_token_reused"
            )
        }
    }

    /// The signed-in user behind an access token, if its session is still signed in.
    public func authenticate(accessToken: String) async throws -> AuthenticatedUser {
        try await verify(accessToken: accessToken).user
    }

    /// `authenticate`, also telling when the token expires (a WebSocket lives no longer than that).
    public func verify(accessToken: String) async throws -> (user: AuthenticatedUser, expiresAt: Timestamp) {
        let verified = try await tokens.verifyAccessToken(accessToken)
        guard let session = try await sessions.find(id: verified.user.sessionID),
              session.userID == verified.user.userID, session.isActive(at: .now())
        else {
            throw CourierError.unauthorized("This session has been signed out; sign in again.", code: "session_revoked")
        }
        return verified
    }

    /// `verify` for a request from `ipAddress`: refused tokens (and a missing one, answered with
    /// `missing`) count against the address's budget for refused requests, and once it is spent
    /// they are answered 429. A forged token costs a signature check only, no look-up. REST and
    /// WebSocket upgrades both authenticate through here.
    public func verify(
        accessToken: String?, from ipAddress: String?, missing: CourierError
    ) async throws -> (user: AuthenticatedUser, expiresAt: Timestamp) {
        do {
            guard let accessToken, !accessToken.isEmpty else { throw missing }
            return try await verify(accessToken: accessToken)
        } catch let error as CourierError where error.kind == .unauthorized {
            try await limiter.countRefusal(from: ipAddress)
            throw error
        }
    }

    /// Signs the current device out; its sockets close on every node.
    public func logout(_ user: AuthenticatedUser) async throws {
        try await sessions.revoke(sessionID: user.sessionID, userID: user.userID, at: .now())
        await events.sessionsEnded(SessionsEnded(userID: user.userID, sessionIDs: [user.sessionID]))
        await audit.record(.init(action: "logout", actorID: user.userID, details: ["session_id": user.sessionID.lowercasedString]))
    }

    /// The user's signed-in devices.
    public func activeSessions(of user: AuthenticatedUser) async throws -> [DeviceSession] {
        try await sessions.active(userID: user.userID, at: .now())
    }

    /// Signs one of the user's devices out. Another user's session is reported as not found.
    public func revokeSession(_ sessionID: UUID, of user: AuthenticatedUser) async throws {
        guard try await sessions.revoke(sessionID: sessionID, userID: user.userID, at: .now()) else {
            throw CourierError.notFound("session")
        }
        await events.sessionsEnded(SessionsEnded(userID: user.userID, sessionIDs: [sessionID]))
        await audit.record(.init(action: "session_revoked", actorID: user.userID, details: ["session_id": sessionID.lowercasedString]))
    }

    private func startSession(for userID: UUID, device: Device, at now: Timestamp) async throws -> TokenPair {
        let refreshToken = SecretToken.random()
        let session = DeviceSession(
            id: UUID.random(), userID: userID, deviceName: device.name, ipAddress: device.ipAddress, createdAt: now,
            lastSeenAt: now, expiresAt: now.adding(seconds: TokenService.refreshTokenLifetime), revokedAt: nil
        )
        try await sessions.create(session, refreshTokenHash: SecretToken.hash(refreshToken))
        let access = try await tokens.accessToken(for: AuthenticatedUser(userID: userID, sessionID: session.id), at: now)
        return TokenPair(
            sessionID: session.id, accessToken: access.token, accessTokenExpiresAt: access.expiresAt,
            refreshToken: refreshToken, refreshTokenExpiresAt: session.expiresAt
        )
    }
}

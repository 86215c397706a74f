import CourierStore

/// The services of one Courier node, built once and shared by every transport.
public struct AppServices: Sendable {
    public let store: Store
    public let auth: AuthService
    public let users: UserService

    /// Builds the services over an open, migrated store.
    public init(store: Store, jwtSecret: String, bcryptCost: Int) async throws {
        self.store = store
        self.auth = AuthService(
            users: store.users, sessions: store.sessions,
            tokens: await TokenService(secret: jwtSecret), passwords: try await PasswordHasher(cost: bcryptCost)
        )
        self.users = UserService(users: store.users)
    }
}

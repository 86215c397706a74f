import CourierStore

/// The services of one Courier node, built once and shared by every transport.
public struct AppServices: Sendable {
    public let store: Store
    public let auth: AuthService
    public let users: UserService
    public let premium: PremiumService
    public let chats: ChatService
    public let messages: MessageService
    public let channels: ChannelService

    /// Builds the services over an open, migrated store.
    public init(store: Store, jwtSecret: String, bcryptCost: Int) async throws {
        self.store = store
        self.auth = AuthService(
            users: store.users, sessions: store.sessions,
            tokens: await TokenService(secret: jwtSecret), passwords: try await PasswordHasher(cost: bcryptCost)
        )
        self.users = UserService(users: store.users)
        self.premium = PremiumService(subscriptions: store.subscriptions, users: store.users)
        self.chats = ChatService(chats: store.chats, users: store.users, premium: premium)
        self.messages = MessageService(messages: store.messages, chats: chats)
        self.channels = ChannelService(chats: store.chats, messages: messages)
    }
}

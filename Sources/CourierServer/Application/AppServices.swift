import CourierRealtime
import CourierStore
import Logging

/// The services of one Courier node, built once and shared by every transport.
public struct AppServices: Sendable {
    public let store: Store
    public let auth: AuthService
    public let users: UserService
    public let premium: PremiumService
    public let chats: ChatService
    public let messages: MessageService
    public let channels: ChannelService
    public let events: EventPublisher
    public let bus: any Bus
    public let limiter: RateLimiter
    public let audit: AuditService
    public let twoFactor: TwoFactorService

    /// Builds the services over an open, migrated store, publishing real-time events on `bus`.
    /// `courier serve` passes the configured rate limits; they are off unless given.
    public init(
        store: Store, jwtSecret: String, bcryptCost: Int, rateLimits: RateLimitSettings = .off, bus: any Bus = InProcessBus(),
        logger: Logger = Logger(label: "courier")
    ) async throws {
        self.store = store
        self.limiter = RateLimiter(settings: rateLimits)
        self.audit = AuditService(audit: store.audit, users: store.users, logger: logger)
        let passwords = try await PasswordHasher(cost: bcryptCost)
        self.twoFactor = TwoFactorService(store: store.twoFactor, users: store.users, passwords: passwords, audit: audit)
        self.auth = AuthService(
            users: store.users, sessions: store.sessions, tokens: await TokenService(secret: jwtSecret),
            passwords: passwords, limiter: limiter, audit: audit, twoFactor: twoFactor
        )
        self.users = UserService(users: store.users)
        self.bus = bus
        self.events = EventPublisher(bus: bus, chats: store.chats, logger: logger)
        self.premium = PremiumService(subscriptions: store.subscriptions, users: store.users, limiter: limiter)
        self.chats = ChatService(chats: store.chats, users: store.users, premium: premium, events: events)
        self.messages = MessageService(messages: store.messages, chats: chats, events: events)
        self.channels = ChannelService(chats: store.chats, messages: messages)
    }
}

/// The abuse limits. Defaults are the design documents' values; every limit is a setting, and
/// `COURIER_RATE_LIMITS=off` turns them all off (load tests, benchmarks).
public struct RateLimitSettings: Sendable, Equatable {
    /// A budget of `count` events per `seconds`.
    public struct Limit: Sendable, Equatable {
        public var count: Int
        public var seconds: Int

        public init(_ count: Int, per seconds: Int) {
            self.count = count
            self.seconds = seconds
        }
    }

    public var enabled: Bool
    /// Requests (REST calls and WebSocket frames) per signed-in user.
    public var user: Limit
    /// The same for premium users.
    public var premiumUser: Limit
    /// Registrations per IP address.
    public var registerPerIP: Limit
    /// Sign-in attempts per IP address.
    public var loginPerIP: Limit
    /// Failed sign-ins per account before it is locked for the window.
    public var loginFailuresPerAccount: Limit
    /// Requests per IP address that carry no valid token (anonymous calls, bad or dead tokens,
    /// refused WebSocket upgrades): each can cost a database look-up or write.
    public var unauthenticatedPerIP: Limit
    /// WebSocket upgrades per signed-in user.
    public var webSocketUpgradesPerUser: Limit
    /// Searches per signed-in user, on top of `user`: one search reads the index of up to a
    /// thousand chats, so it costs far more than an ordinary request.
    public var searchPerUser: Limit
    /// Bot API calls per bot (Telegram allows about 30 messages a second).
    public var bot: Limit

    public init(
        enabled: Bool = true, user: Limit = .init(100, per: 60), premiumUser: Limit = .init(1000, per: 60),
        registerPerIP: Limit = .init(20, per: 3600), loginPerIP: Limit = .init(30, per: 60),
        loginFailuresPerAccount: Limit = .init(10, per: 900), unauthenticatedPerIP: Limit = .init(120, per: 60),
        webSocketUpgradesPerUser: Limit = .init(30, per: 60), searchPerUser: Limit = .init(60, per: 60),
        bot: Limit = .init(1800, per: 60)
    ) {
        self.bot = bot
        self.enabled = enabled
        self.user = user
        self.premiumUser = premiumUser
        self.registerPerIP = registerPerIP
        self.loginPerIP = loginPerIP
        self.loginFailuresPerAccount = loginFailuresPerAccount
        self.unauthenticatedPerIP = unauthenticatedPerIP
        self.webSocketUpgradesPerUser = webSocketUpgradesPerUser
        self.searchPerUser = searchPerUser
    }

    public static let off = RateLimitSettings(enabled: false)

    /// `COURIER_RATE_LIMITS` (`on`/`off`) and `COURIER_RATE_LIMIT_<NAME>` = `count` or `count/seconds`
    /// for USER, PREMIUM_USER, REGISTER_PER_IP, LOGIN_PER_IP, LOGIN_FAILURES_PER_ACCOUNT,
    /// UNAUTHENTICATED_PER_IP, WEBSOCKET_UPGRADES_PER_USER, SEARCH_PER_USER, BOT.
    public static func resolve(environment: [String: String]) throws(ConfigurationError) -> RateLimitSettings {
        var settings = RateLimitSettings()
        switch environment["COURIER_RATE_LIMITS"]?.lowercased() {
        case nil, "", "on": break
        case "off": settings.enabled = false
        default: throw ConfigurationError("COURIER_RATE_LIMITS must be on or off.")
        }
        func limit(_ name: String, _ current: Limit) throws(ConfigurationError) -> Limit {
            guard let text = environment["COURIER_RATE_LIMIT_\(name)"], !text.isEmpty else { return current }
            let parts = text.split(separator: "/").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard (1...2).contains(parts.count), let count = parts[0], count > 0,
                  let seconds = parts.count == 2 ? parts[1] : current.seconds, seconds > 0
            else { throw ConfigurationError("COURIER_RATE_LIMIT_\(name) must be a count or count/seconds, like 100/60.") }
            return Limit(count, per: seconds)
        }
        settings.user = try limit("USER", settings.user)
        settings.premiumUser = try limit("PREMIUM_USER", settings.premiumUser)
        settings.registerPerIP = try limit("REGISTER_PER_IP", settings.registerPerIP)
        settings.loginPerIP = try limit("LOGIN_PER_IP", settings.loginPerIP)
        settings.loginFailuresPerAccount = try limit("LOGIN_FAILURES_PER_ACCOUNT", settings.loginFailuresPerAccount)
        settings.unauthenticatedPerIP = try limit("UNAUTHENTICATED_PER_IP", settings.unauthenticatedPerIP)
        settings.webSocketUpgradesPerUser = try limit("WEBSOCKET_UPGRADES_PER_USER", settings.webSocketUpgradesPerUser)
        settings.searchPerUser = try limit("SEARCH_PER_USER", settings.searchPerUser)
        settings.bot = try limit("BOT", settings.bot)
        return settings
    }
}

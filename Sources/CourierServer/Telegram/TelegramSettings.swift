/// The Telegram relay's configuration. Without a bot token the relay is off.
public struct TelegramSettings: Sendable, Equatable {
    public var botToken: String
    /// Where the Bot API is: Telegram's, or anything speaking it.
    public var apiURL: String
    /// When set, Telegram delivers updates to `POST /telegram/webhook` with this secret; otherwise
    /// the server long-polls `getUpdates`.
    public var webhookSecret: String?
    /// Pauses of the relay worker (short in tests).
    public var pollInterval: Duration
    /// At most this many Bot API messages per second overall, and one per chat per `perChatInterval`.
    public var messagesPerSecond: Int
    public var perChatInterval: Duration

    public init(
        botToken: String, apiURL: String = "https://api.telegram.org", webhookSecret: String? = nil,
        pollInterval: Duration = .milliseconds(250), messagesPerSecond: Int = 30, perChatInterval: Duration = .seconds(1)
    ) {
        self.botToken = botToken
        self.apiURL = apiURL
        self.webhookSecret = webhookSecret
        self.pollInterval = pollInterval
        self.messagesPerSecond = messagesPerSecond
        self.perChatInterval = perChatInterval
    }

    /// `TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL`, `TELEGRAM_WEBHOOK_SECRET`; nil without a token.
    public static func resolve(environment: [String: String]) throws(ConfigurationError) -> TelegramSettings? {
        guard let token = environment["TELEGRAM_BOT_TOKEN"], !token.isEmpty else { return nil }
        var settings = TelegramSettings(botToken: token)
        if let url = environment["TELEGRAM_API_URL"], !url.isEmpty {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError("TELEGRAM_API_URL must be an http(s) URL.")
            }
            settings.apiURL = url
        }
        if let secret = environment["TELEGRAM_WEBHOOK_SECRET"], !secret.isEmpty {
            guard secret.count <= 256, secret.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw ConfigurationError("TELEGRAM_WEBHOOK_SECRET must be 1–256 characters of A-Z, a-z, 0-9, _ and -.")
            }
            settings.webhookSecret = secret
        }
        return settings
    }
}

/// How bots are served: limits and the webhook policy.
public struct BotSettings: Sendable, Equatable {
    /// Bots one person may own.
    public var maxBotsPerOwner = 20
    /// How long a person's button press waits for the bot's answer.
    public var callbackAnswerTimeout: Duration = .seconds(10)
    /// Whether webhooks may point at loopback, private and link-local addresses. Off by default:
    /// any person may make a bot, and a webhook must not let them reach this server's own network
    /// (`COURIER_BOT_WEBHOOKS_TO_PRIVATE_NETWORKS=allow` for bots run beside the server).
    public var webhooksToPrivateNetworks = false
    /// How long updates are kept for a bot that does not fetch them (Telegram keeps them 24 hours).
    public var updateRetention: Duration = .seconds(24 * 3600)

    public init(webhooksToPrivateNetworks: Bool = false) {
        self.webhooksToPrivateNetworks = webhooksToPrivateNetworks
    }
}

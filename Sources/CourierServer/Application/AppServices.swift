import CourierCore
import CourierRealtime
import Foundation
import CourierStore
import CourierTelegram
import Logging
import ServiceLifecycle

/// The services of one Courier node, built once and shared by every transport. A class: every
/// controller and every WebSocket session holds a reference, not its own copy of the whole set.
public final class AppServices: Sendable {
    public let store: Store
    public let auth: AuthService
    public let users: UserService
    public let premium: PremiumService
    public let chats: ChatService
    public let messages: MessageService
    public let sync: SyncService
    public let channels: ChannelService
    public let events: EventPublisher
    public let bus: any Bus
    public let limiter: RateLimiter
    public let audit: AuditService
    public let twoFactor: TwoFactorService
    public let telegram: TelegramService
    public let media: MediaService
    public let calls: CallService
    public let search: SearchService
    public let reactions: ReactionService
    public let pins: PinService
    public let chatSettings: ChatSettingsService
    public let bots: BotService
    /// The Bot API's long polls on this node.
    let botPolling: BotPolling
    /// The Telegram relay's decisions, and the wake-up of its sender.
    let relay: TelegramRelay
    /// This node's WebSocket connections.
    public let registry: ConnectionRegistry
    /// Who is online, on any node (the Telegram relay's "offline" asks it too).
    public let presence: PresenceService
    public let gateway: GatewayConfiguration
    /// How long the update log keeps updates; a device further behind reloads (`too_long`).
    public let updateRetention: Duration
    /// What this node measures (`/metrics`).
    public let metrics: ServerMetrics

    /// Builds the services over an open, migrated store.
    ///
    /// - Parameters:
    ///   - rateLimits: `courier serve` passes the configured limits; they are off unless given.
    ///   - telegram: the relay's settings, nil for no relay; `bot` replaces the HTTP Bot API client.
    ///   - publicURL: where people reach this server, for links.
    ///   - sharedRateLimits: buckets every node shares (Redis); nil keeps them in this node.
    ///   - presenceDirectory: who is online on every node (Redis); nil asks this node's connections.
    ///   - turn: the STUN and TURN servers calls use, and the TURN server's shared secret.
    ///   - mediaSettings: limits and storage of media; `blobs` holds their bytes and `mediaWorkFolder`
    ///     their plaintext while they are processed (both in a fresh temporary folder unless given).
    public init(
        store: Store, jwtSecret: String, bcryptCost: Int, rateLimits: RateLimitSettings = .off,
        gateway: GatewayConfiguration = GatewayConfiguration(), telegram: TelegramSettings? = nil, bot: (any BotAPI)? = nil,
        publicURL: String = "http://127.0.0.1:8080", bus: any Bus = InProcessBus(), updateRetention: Duration = .seconds(30 * 24 * 3600),
        mediaSettings: MediaSettings = MediaSettings(), blobs: (any BlobStore)? = nil, mediaWorkFolder: String? = nil,
        sharedRateLimits: (any SharedRateLimitBuckets)? = nil, presenceDirectory: (any PresenceDirectory)? = nil,
        turn: TURNSettings = TURNSettings(), metrics: ServerMetrics = ServerMetrics(), botSettings: BotSettings = BotSettings(),
        logger: Logger = Logger(label: "courier")
    ) async throws {
        self.updateRetention = updateRetention
        self.metrics = metrics
        self.store = store
        self.bus = bus
        self.gateway = gateway
        self.registry = ConnectionRegistry(maxConnections: gateway.maxConnections, maxConnectionsPerUser: gateway.maxConnectionsPerUser)
        self.limiter = RateLimiter(settings: rateLimits, shared: sharedRateLimits)
        self.audit = AuditService(audit: store.audit, users: store.users, logger: logger)
        self.events = EventPublisher(
            bus: bus, registry: registry, chats: store.chats, messages: store.messages, updates: store.updates, metrics: metrics, logger: logger
        )
        events.subscribe(StoredMessageCounter(metrics: metrics))
        self.presence = PresenceService(
            directory: presenceDirectory ?? LocalPresenceDirectory(registry: registry), registry: registry, chats: store.chats, users: store.users,
            events: events, logger: logger
        )
        let passwords = try await PasswordHasher(cost: bcryptCost)
        self.twoFactor = TwoFactorService(
            store: store.twoFactor, users: store.users, passwords: passwords, audit: audit, lockout: AccountLockout(limiter: limiter)
        )
        self.auth = AuthService(
            users: store.users, sessions: store.sessions, tokens: await TokenService(secret: jwtSecret),
            passwords: passwords, limiter: limiter, audit: audit, twoFactor: twoFactor, events: events
        )
        self.users = UserService(users: store.users)
        self.premium = PremiumService(subscriptions: store.subscriptions, users: store.users, limiter: limiter)
        self.chats = ChatService(chats: store.chats, users: store.users, premium: premium, events: events, updates: store.updates)
        let botAPI = bot ?? telegram.map { HTTPBotAPI(token: $0.botToken, apiURL: $0.apiURL) }
        let relay = TelegramRelay(enabled: botAPI != nil, store: store.telegram, presence: presence, logger: logger)
        self.relay = relay
        events.subscribe(relay)
        let scratch = NSTemporaryDirectory() + "courier-media-" + UUID.random().lowercasedString
        self.media = MediaService(
            store: store.media, blobs: try blobs ?? FolderBlobStore(folder: scratch + "/blobs"), settings: mediaSettings, premium: premium,
            linkKey: store.keyring.derivedKey(purpose: "media-links/v1"), workFolder: mediaWorkFolder ?? scratch + "/work",
            announceWork: { [events] in await events.mediaWorkQueued() }, metrics: metrics, logger: logger
        )
        self.messages = MessageService(messages: store.messages, chats: chats, events: events, relay: relay, media: media)
        var sync = SyncService(updates: store.updates, messages: store.messages, chats: store.chats)
        sync.metrics = metrics
        self.sync = sync
        var calls = CallService(calls: store.calls, chats: chats, messages: messages, events: events, turn: turn, logger: logger)
        calls.metrics = metrics
        self.calls = calls
        self.channels = ChannelService(chats: store.chats, messages: messages, events: events)
        self.search = SearchService(chats: chats, search: store.search, limiter: limiter)
        self.reactions = ReactionService(messages: messages, reactions: store.reactions, events: events)
        self.pins = PinService(messages: messages, chats: chats, pins: store.pins, events: events)
        self.chatSettings = ChatSettingsService(settings: store.chatSettings, events: events)
        // One node hears every change it stores; several look at the database every second too.
        let botPolling = BotPolling(recheckInterval: bus is InProcessBus ? .seconds(30) : .seconds(1)) { [bots = store.bots] chats in
            try await bots.bots(inChats: chats)
        }
        self.botPolling = botPolling
        events.subscribe(botPolling)
        self.bots = BotService(
            bots: store.bots, users: store.users, chats: chats, messages: messages, passwords: passwords, polling: botPolling, audit: audit,
            settings: botSettings
        )
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.telegram = TelegramService(
            bot: botAPI, settings: telegram, store: store.telegram, messages: messages, audit: audit, publicURL: base,
            botUsername: .init(), logger: logger
        )
        // Gauges of the moment, read when Prometheus scrapes.
        metrics.collect { [registry, metrics] in metrics.webSocketConnections.record(await registry.count) }
        if self.telegram.bot != nil {
            metrics.collect { [store, metrics] in
                if let depth = try? await store.telegram.queueDepth() { metrics.relayQueueDepth.record(depth) }
            }
        }
        if let sqlite = store.engine as? SQLiteEngine { try await sqlite.observeGroupCommits(metrics.groupCommitBatchSize()) }
    }

    /// The background services of a node: its own (fan-out from the bus, the sweeps of its
    /// sockets) and the deployment's, which run on one node at a time under a `DeploymentLease`
    /// (premium expiry, update-log pruning, media collection and processing, the Telegram relay).
    func backgroundServices(logger: Logger) -> [any Service] {
        [
            FanOutService(
                bus: bus, registry: registry, remoteUpdates: RemoteUpdateReader(fanOut: events.fanOut, updates: store.updates, logger: logger),
                newMessageStored: { [relay] in relay.wakeup.signal() }, mediaWorkQueued: { [media] in media.work.signal() }
            ),
            PeriodicJob.expiredTokenSweep(registry, logger: logger),
            PeriodicJob.signedOutSessionCheck(registry, sessions: store.sessions, interval: gateway.sessionCheckInterval, logger: logger),
            DeploymentLease(engine: store.engine, services: deploymentServices(logger: logger), logger: logger),
            PeriodicJob(name: "call timeouts", interval: .seconds(1), logger: logger) { [calls] in try await calls.endOverdue() },
        ] + [PeriodicJob.presenceUpkeep(presence, logger: logger)].compactMap { $0 }
    }

    /// The Bot API's methods over these services.
    var botAPIMethods: BotAPIMethods {
        BotAPIMethods(bots: bots, store: store, messages: messages, chats: chats, polling: botPolling, media: media)
    }

    /// The work a deployment needs done once, whatever the number of nodes.
    func deploymentServices(logger: Logger) -> [any Service] {
        var services: [any Service] = [
            PeriodicJob.premiumExpiry(premium, logger: logger),
            PeriodicJob.updatePruning(store.updates, retention: updateRetention, logger: logger),
            PeriodicJob.mediaCollection(media, logger: logger),
            PeriodicJob.searchBackfill(store.search, logger: logger),
            MediaWorkService(media: media, logger: logger),
            BotWebhookDelivery(bots: bots, methods: botAPIMethods, logger: logger),
            PeriodicJob(name: "bot update pruning", interval: .seconds(600), logger: logger) { [store, bots] in
                try await store.bots.prune(before: Timestamp.now().adding(Duration.zero - bots.settings.updateRetention))
            },
        ]
        if let bot = telegram.bot, let settings = telegram.settings {
            services.append(TelegramRelayService(telegram: telegram, relay: relay, bot: bot, settings: settings, logger: logger, metrics: metrics))
            if let secret = settings.webhookSecret {
                services.append(TelegramWebhookRegistration(bot: bot, url: "\(telegram.publicURL)/telegram/webhook", secret: secret, logger: logger))
            } else {
                services.append(TelegramUpdatePoller(telegram: telegram, bot: bot, logger: logger, timeout: 25))
            }
        }
        return services
    }
}

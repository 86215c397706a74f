import Foundation
import CourierRealtime
import CourierRedis
import CourierStore
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// The routes of Courier over `services`: `/health`, the REST API under `/api/v1`, `/ws`, the
/// Telegram webhook and the web client (`/`, `/assets/…`, and `/r/:ref`, the page behind a Telegram
/// notification).
///
/// - Parameters:
///   - webClient: the web client's files; the one built into the server unless given.
///   - allowedOrigins: web origins other than the server's own that may call the API from a browser.
///   - https: whether the server is reached over HTTPS (then HSTS is sent).
public func buildRouter(
    services: AppServices, allowedOrigins: Set<String> = [], https: Bool = false, webClient: WebAssets = .bundled,
    trustedProxies: TrustedProxies = .none, metricsToken: String? = nil
) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // Middleware applies to routes added after it: keep these first. The error middleware is
    // innermost, so every error has become a response before headers are added to it.
    router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: ClientAddressMiddleware(trusted: trustedProxies))
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: SecurityHeadersMiddleware(https: https))
    router.add(middleware: CORSMiddleware(allowedOrigins: allowedOrigins))
    router.add(middleware: ErrorMiddleware())

    HealthController(engine: services.store.engine, registry: services.registry).addRoutes(to: router)
    if let metricsToken { MetricsController(metrics: services.metrics, token: metricsToken).addRoutes(to: router) }
    OpenAPIController().addRoutes(to: router)
    WebClientController(assets: webClient).addRoutes(to: router)
    WebSocketGateway(services: services, registry: services.registry, configuration: services.gateway).addRoutes(to: router)

    BotAPIController(methods: services.botAPIMethods, limiter: services.limiter).addRoutes(to: router)
    let api = router.group("api/v1")
        .add(middleware: TokenAuthenticator(auth: services.auth))
        .add(middleware: RateLimitMiddleware(premium: services.premium, limiter: services.limiter))
        .add(middleware: AccessDenialAuditMiddleware(audit: services.audit))
    AuthController(auth: services.auth).addRoutes(to: api.group("auth"))
    UserController(users: services.users).addRoutes(to: api.group("users", context: AuthenticatedContext.self))
    ChatController(chats: services.chats, messages: services.messages)
        .addRoutes(to: api.group("chats", context: AuthenticatedContext.self))
    MessageController(messages: services.messages).addRoutes(to: api.group("messages", context: AuthenticatedContext.self))
    UploadController(media: services.media).addRoutes(to: api.group("uploads", context: AuthenticatedContext.self))
    MediaController(media: services.media).addRoutes(api: api.group("media", context: AuthenticatedContext.self), router: router)
    SyncController(sync: services.sync).addRoutes(to: api.group("updates", context: AuthenticatedContext.self))
    ChannelController(channels: services.channels)
        .addRoutes(to: api.group("channels", context: AuthenticatedContext.self))
    CallController(calls: services.calls).addRoutes(to: api.group("calls", context: AuthenticatedContext.self))
    ReactionController(reactions: services.reactions, pins: services.pins).addRoutes(
        messages: api.group("messages", context: AuthenticatedContext.self), chats: api.group("chats", context: AuthenticatedContext.self)
    )
    ChatSettingsController(settings: services.chatSettings).addRoutes(to: api.group("chats", context: AuthenticatedContext.self))
    BotController(bots: services.bots).addRoutes(
        bots: api.group("bots", context: AuthenticatedContext.self), chats: api.group("chats", context: AuthenticatedContext.self),
        messages: api.group("messages", context: AuthenticatedContext.self)
    )
    SearchController(search: services.search).addRoutes(to: api.group("search", context: AuthenticatedContext.self))
    SubscriptionController(premium: services.premium).addRoutes(to: api.group("subscriptions", context: AuthenticatedContext.self))
    AuditController(audit: services.audit).addRoutes(to: api.group("audit", context: AuthenticatedContext.self))
    TelegramController(telegram: services.telegram).addRoutes(
        api: api.group("telegram", context: AuthenticatedContext.self),
        references: api.group("references", context: AuthenticatedContext.self),
        router: router
    )
    return router
}

/// A Courier node over `services`: HTTP and WebSocket on one port, plus its background services.
public func buildApplication(
    services: AppServices, host: String, port: Int, allowedOrigins: Set<String> = [], https: Bool = false,
    webClient: WebAssets = .bundled, trustedProxies: TrustedProxies = .none, metricsToken: String? = nil, logger: Logger
) -> some ApplicationProtocol {
    let router = buildRouter(
        services: services, allowedOrigins: allowedOrigins, https: https, webClient: webClient, trustedProxies: trustedProxies, metricsToken: metricsToken
    )
    let gateway = WebSocketGateway(services: services, registry: services.registry, configuration: services.gateway)
    let upgradeResponder = router.buildResponder()
    return Application(
        router: router,
        // WebSockets are NIO handlers once admitted (`HTTPAndWebSocketChannel`). A connection that
        // stops sending before its request is whole (a stalled upload part, a slow-loris) is closed
        // after a minute instead of holding its resources for good.
        server: HTTPServerBuilder { responder in
            HTTPAndWebSocketChannel(
                responder: responder, upgradeResponder: upgradeResponder, maxFrameSize: services.gateway.maxFrameBytes,
                idleTimeout: .seconds(60), start: gateway.start
            )
        },
        configuration: .init(address: .hostname(host, port: port), serverName: "Courier"),
        services: services.backgroundServices(logger: logger),
        logger: logger
    )
}

/// A Courier node as `courier serve` runs it: the application, and before it stops (SIGTERM,
/// SIGINT) the drain of its WebSockets, while the server, database and bus still work.
public func buildNode(configuration: ServerConfiguration, store: Store, logger: Logger) async throws -> ServiceGroup {
    let services = try await buildServices(configuration: configuration, store: store, logger: logger)
    let app = try buildApplication(configuration: configuration, services: services, logger: logger)
    var nodeServices: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: app), .init(service: ConnectionDrain(registry: services.registry, spread: configuration.drainSpread, logger: logger)),
        // Told of the shutdown with the drain, so waiting long polls answer instead of holding the server.
        .init(service: services.botPolling),
        // Signalled first, so its clock runs from the moment the node is asked to stop.
        .init(service: ShutdownDeadline(limit: configuration.drainSpread + .seconds(30), logger: logger)),
    ]
    if let address = configuration.metrics.address {
        nodeServices.append(.init(service: buildMetricsListener(host: address.host, port: address.port, metrics: services.metrics, logger: logger)))
    }
    return ServiceGroup(configuration: .init(
        services: nodeServices,
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
    ))
}

/// A Courier node as configured. Opens nothing itself, so the caller decides when the store closes
/// (after the server has stopped taking requests).
public func buildApplication(
    configuration: ServerConfiguration, store: Store, logger: Logger
) async throws -> some ApplicationProtocol {
    try buildApplication(configuration: configuration, services: try await buildServices(configuration: configuration, store: store, logger: logger), logger: logger)
}

/// The services of a node as configured: storage, media, the bus and shared state (Redis when set,
/// with PostgreSQL), Telegram.
func buildServices(configuration: ServerConfiguration, store: Store, logger: Logger) async throws -> AppServices {
    try await checkAuditLog(store, logger: logger)
    let secret = try configuration.jwtSecret ?? SecretFile.loadOrCreate(at: configuration.jwtSecretPath)
    let blobs = try await openBlobStore(configuration: configuration)
    for tool in ["vips", "vipsheader", "ffmpeg", "ffprobe"] where ExternalCommand.locate(tool) == nil {
        logger.warning("\(tool) is not installed: photos, videos and voice messages cannot be processed (files still can)")
    }
    var bus: any Bus = InProcessBus()
    var sharedRateLimits: (any SharedRateLimitBuckets)?
    var presence: (any PresenceDirectory)?
    if let redisURL = configuration.redisURL, let redis = RedisConfiguration(url: redisURL) {
        if store.engine.kind == .postgres {
            bus = RedisBus(configuration: redis)
            let client = RedisClient(configuration: redis)
            sharedRateLimits = RedisRateLimitBuckets(redis: client, nameKey: store.keyring.derivedKey(purpose: "redis-key-names/v1"))
            presence = RedisPresenceDirectory(redis: client)
            logger.info("the bus between nodes, presence and the rate limits are in Redis", metadata: ["redis": "\(redis)"])
        } else {
            logger.warning("REDIS_URL is set, but SQLite keeps Courier to one node: the bus stays in this process (set DATABASE_URL to PostgreSQL for several nodes)")
        }
    }
    return try await AppServices(
        store: store, jwtSecret: secret, bcryptCost: configuration.bcryptCost, rateLimits: configuration.rateLimits,
        gateway: GatewayConfiguration(maxConnections: configuration.maxConnections, maxConnectionsPerUser: configuration.maxConnectionsPerUser), telegram: configuration.telegram,
        publicURL: configuration.publicURL, bus: bus, updateRetention: .seconds(Int64(configuration.updateRetentionDays) * 24 * 3600),
        mediaSettings: configuration.media, blobs: blobs, mediaWorkFolder: configuration.mediaWorkDirectory,
        sharedRateLimits: sharedRateLimits, presenceDirectory: presence, turn: configuration.turn, botSettings: configuration.bots, logger: logger
    )
}

func buildApplication(configuration: ServerConfiguration, services: AppServices, logger: Logger) throws -> some ApplicationProtocol {
    let webClient = try configuration.webDirectory.map { try WebAssets(folder: URL(fileURLWithPath: $0)) } ?? .bundled
    if webClient.isEmpty {
        logger.warning("no web client to serve: keep Courier_CourierServer.resources next to the courier binary, or set COURIER_WEB_DIR")
    }
    return buildApplication(
        services: services, host: configuration.host, port: configuration.port,
        allowedOrigins: configuration.allowedOrigins, https: configuration.publicURL.hasPrefix("https://"),
        webClient: webClient, trustedProxies: configuration.trustedProxies, metricsToken: configuration.metrics.token, logger: logger
    )
}

/// The separate metrics listener (`COURIER_METRICS_ADDRESS`): `/metrics` and nothing else, for a
/// Prometheus on a private network.
func buildMetricsListener(host: String, port: Int, metrics: ServerMetrics, logger: Logger) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    MetricsController(metrics: metrics, token: nil).addRoutes(to: router)
    return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "Courier"), logger: logger)
}

/// Opens the configured database (creating the data folder first), brings its schema up to date and
/// opens the master key file, refusing to go on when the key does not fit the data.
///
/// With `migrating: false` (commands that only read, such as `audit verify`) a schema that is not
/// up to date is refused instead of changed.
public func openStore(configuration: ServerConfiguration, logger: Logger, migrating: Bool = true) async throws -> Store {
    if try !SecretFile.ensureDirectory(configuration.dataDirectory) {
        logger.warning("the data folder lets other users in; make it mode 0700", metadata: ["folder": "\(configuration.dataDirectory)"])
    }
    let engine = try await Store.openEngine(databaseURL: configuration.databaseURL, sqlitePath: configuration.sqlitePath, logger: logger)
    do {
        let migrator = Migrator(engine: engine)
        // A schema from a newer courier (a rollback, a node left behind in a rolling upgrade):
        // this one would write rows the newer one cannot read, so it does not start.
        let known = Schema.migrations.map(\.version).max() ?? 0
        if let newest = (try? await migrator.appliedVersions())?.max(), newest > known {
            throw ConfigurationError("The database's schema (version \(newest)) is newer than this courier knows (\(known)); run the newer courier.")
        }
        if migrating {
            try await migrator.migrate(logger: logger)
        } else {
            let applied = Set((try? await migrator.appliedVersions()) ?? [])
            guard Set(Schema.migrations.map(\.version)).isSubset(of: applied) else {
                throw ConfigurationError("The database's schema is older than this courier; run `courier migrate` (or `courier serve`) first.")
            }
        }
        let keyring = try await Keyring.open(keyFile: configuration.masterKeyPath, engine: engine)
        let store = Store(engine: engine, keyring: keyring, auditAnchorPath: configuration.auditAnchorPath)
        if migrating { try await MetadataSealer(store: store, logger: logger).sealOlderRows() }
        return store
    } catch {
        try? await engine.close()
        throw error
    }
}

/// Where media bytes live as configured: the S3 bucket (checked to answer) or the data folder.
public func openBlobStore(configuration: ServerConfiguration) async throws -> any BlobStore {
    if let s3 = configuration.media.s3 {
        let bucket = try S3BlobStore(configuration: s3)
        try await bucket.checkBucket()
        return bucket
    }
    return try FolderBlobStore(folder: configuration.mediaDirectory)
}

/// Before a node serves: seals an audit log written before it was keyed (once, on the first start
/// after the upgrade), and refuses to start when the log lost the entry this node's anchor names,
/// so that new entries never paper over removed ones.
func checkAuditLog(_ store: Store, logger: Logger) async throws {
    if let anchor = store.audit.anchor {
        for path in [anchor.path, anchor.upgradeMarkerPath] { _ = try? PrivateFile.narrowIfPresent(path) }
    }
    let sealed = try await store.audit.sealUnkeyedEntries()
    if sealed > 0 { logger.notice("sealed the audit log with the master key", metadata: ["entries": "\(sealed)"]) }
    switch try await store.audit.checkAnchor() {
    case .mismatch(let seq):
        throw ConfigurationError(
            "The audit log no longer holds entry \(seq), which this node wrote: its newest entries were removed or the database was replaced. "
                + "Run `courier audit verify` and keep the evidence; to start anyway, move \(store.audit.anchor?.path ?? "the audit anchor") aside."
        )
    case .forged:
        throw ConfigurationError("The audit anchor \(store.audit.anchor?.path ?? "") was changed. Run `courier audit verify`; to start anyway, move it aside.")
    case .matches, .missing, .notKept:
        break
    }
}

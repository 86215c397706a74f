import CourierRedis
import Foundation
import Logging

/// Everything `courier serve` needs to know, resolved from flags, the environment and defaults
/// (in that order of precedence).
public struct ServerConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Folder for the SQLite file, the generated JWT secret and (later) media and keys.
    public var dataDirectory: String
    /// `postgres://…` to use PostgreSQL; nil for the SQLite file in the data folder.
    public var databaseURL: String?
    /// The JWT signing secret; nil to generate one once and keep it in the data folder.
    public var jwtSecret: String?
    /// The address people use to reach this server, for links.
    public var publicURL: String
    public var logLevel: Logger.Level
    /// bcrypt work factor. 12 as the design documents set; lower only for tests.
    public var bcryptCost: Int
    /// WebSocket connections this node holds at most.
    public var maxConnections: Int
    /// WebSocket connections one user may hold open on this node.
    public var maxConnectionsPerUser: Int
    /// How many days the update log keeps updates.
    public var updateRetentionDays: Int
    /// The master key file; nil for `master.key` in the data folder.
    public var masterKeyFile: String?
    /// The abuse limits.
    public var rateLimits: RateLimitSettings
    /// Web origins (`https://app.example.com`) besides the server's own allowed to call the API from a browser.
    public var allowedOrigins: Set<String>
    /// The Telegram relay, nil when off.
    public var telegram: TelegramSettings?
    /// A folder to serve the web client from instead of the built-in copy (for work on the client).
    public var webDirectory: String?
    /// Media limits, processing and storage (the data folder, or an S3 bucket).
    public var media: MediaSettings
    /// Redis, for the bus between several nodes (with PostgreSQL only); nil for one node.
    public var redisURL: String?
    /// Proxies whose `X-Forwarded-For` gives the client's address (none: the peer is the client).
    public var trustedProxies: TrustedProxies
    /// STUN and TURN servers for calls (`COURIER_TURN_URLS`, `COURIER_TURN_SECRET`, `COURIER_TURN_TTL_SECONDS`).
    public var turn = TURNSettings()
    public var bots = BotSettings()
    /// How long a stopping node takes to close its WebSockets (spread, so that the other nodes do
    /// not take every reconnect at once).
    public var drainSpread: Duration = .seconds(5)
    /// Where `/metrics` is served (nowhere unless configured).
    public var metrics = MetricsSettings()
    /// This node's name in its logs (`COURIER_NODE_ID`; the host name by default).
    public var nodeID: String = ProcessInfo.processInfo.hostName

    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 8080
    public static let defaultBcryptCost = 12
    /// HS256 needs at least 256 bits of key.
    public static let minimumJWTSecretBytes = 32

    public init(
        host: String = defaultHost, port: Int = defaultPort, dataDirectory: String = "./data",
        databaseURL: String? = nil, jwtSecret: String? = nil, publicURL: String? = nil,
        logLevel: Logger.Level = .info, bcryptCost: Int = defaultBcryptCost,
        maxConnections: Int = GatewayConfiguration.defaultMaxConnections,
        maxConnectionsPerUser: Int = GatewayConfiguration.defaultMaxConnectionsPerUser, updateRetentionDays: Int = 30,
        masterKeyFile: String? = nil,
        rateLimits: RateLimitSettings = RateLimitSettings(), allowedOrigins: Set<String> = [], telegram: TelegramSettings? = nil,
        webDirectory: String? = nil, media: MediaSettings = MediaSettings(), redisURL: String? = nil,
        trustedProxies: TrustedProxies = .none
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.jwtSecret = jwtSecret
        self.publicURL = publicURL ?? "http://\(host):\(port)"
        self.logLevel = logLevel
        self.bcryptCost = bcryptCost
        self.maxConnections = maxConnections
        self.maxConnectionsPerUser = maxConnectionsPerUser
        self.updateRetentionDays = updateRetentionDays
        self.masterKeyFile = masterKeyFile
        self.rateLimits = rateLimits
        self.allowedOrigins = allowedOrigins
        self.telegram = telegram
        self.webDirectory = webDirectory
        self.media = media
        self.redisURL = redisURL
        self.trustedProxies = trustedProxies
    }

    /// Reads the settings from environment variables; flags given on the command line override them.
    public static func resolve(
        environment: [String: String],
        host: String? = nil, port: Int? = nil, dataDirectory: String? = nil, publicURL: String? = nil,
        maxConnections: Int? = nil, masterKeyFile: String? = nil
    ) throws(ConfigurationError) -> ServerConfiguration {
        func value(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        func integer(_ name: String) throws(ConfigurationError) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text) else { throw ConfigurationError("\(name) must be a whole number, not '\(text)'.") }
            return number
        }

        let resolvedHost = host ?? value("COURIER_HOST") ?? defaultHost
        var resolvedPort = defaultPort
        if let port { resolvedPort = port } else if let fromEnvironment = try integer("COURIER_PORT") { resolvedPort = fromEnvironment }
        guard (1...65535).contains(resolvedPort) else { throw ConfigurationError("The port must be between 1 and 65535.") }

        let level: Logger.Level
        if let text = value("LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigurationError("LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical.")
            }
            level = parsed
        } else {
            level = .info
        }

        let secret = value("JWT_SECRET")
        if let secret, secret.utf8.count < minimumJWTSecretBytes {
            throw ConfigurationError("JWT_SECRET must be at least \(minimumJWTSecretBytes) bytes; leave it unset to have one generated.")
        }

        var cost = defaultBcryptCost
        if let fromEnvironment = try integer("COURIER_BCRYPT_COST") { cost = fromEnvironment }
        guard (4...31).contains(cost) else { throw ConfigurationError("COURIER_BCRYPT_COST must be between 4 and 31.") }

        var connections = GatewayConfiguration.defaultMaxConnections
        if let maxConnections { connections = maxConnections } else if let fromEnvironment = try integer("COURIER_MAX_CONNECTIONS") {
            connections = fromEnvironment
        }
        guard connections >= 1 else { throw ConfigurationError("The connection limit must be at least 1.") }
        let perUser = try integer("COURIER_MAX_CONNECTIONS_PER_USER") ?? GatewayConfiguration.defaultMaxConnectionsPerUser
        guard perUser >= 1 else { throw ConfigurationError("COURIER_MAX_CONNECTIONS_PER_USER must be at least 1.") }
        let retention = try integer("COURIER_UPDATE_RETENTION_DAYS") ?? 30
        guard (1...3650).contains(retention) else { throw ConfigurationError("COURIER_UPDATE_RETENTION_DAYS must be 1 to 3650.") }

        let drainSeconds = try integer("COURIER_DRAIN_SECONDS") ?? 5
        guard (0...300).contains(drainSeconds) else { throw ConfigurationError("COURIER_DRAIN_SECONDS must be 0 to 300.") }
        var configuration = ServerConfiguration(
            host: resolvedHost, port: resolvedPort,
            dataDirectory: dataDirectory ?? value("COURIER_DATA_DIR") ?? "./data",
            databaseURL: value("DATABASE_URL"), jwtSecret: secret,
            publicURL: publicURL ?? value("COURIER_PUBLIC_URL"),
            logLevel: level, bcryptCost: cost, maxConnections: connections, maxConnectionsPerUser: perUser, updateRetentionDays: retention,
            masterKeyFile: masterKeyFile ?? value("COURIER_MASTER_KEY_FILE"),
            rateLimits: try RateLimitSettings.resolve(environment: environment),
            allowedOrigins: Set((value("COURIER_ALLOWED_ORIGINS") ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            }.filter { !$0.isEmpty }),
            telegram: try TelegramSettings.resolve(environment: environment),
            webDirectory: value("COURIER_WEB_DIR"),
            media: try MediaSettings.resolve(environment: environment),
            redisURL: try redis(value("REDIS_URL")),
            trustedProxies: try proxies(value("COURIER_TRUSTED_PROXIES"))
        )
        configuration.drainSpread = .seconds(drainSeconds)
        configuration.turn = try TURNSettings.resolve(environment: environment)
        configuration.metrics = try MetricsSettings.resolve(environment: environment)
        switch value("COURIER_BOT_WEBHOOKS_TO_PRIVATE_NETWORKS")?.lowercased() {
        case nil, "", "deny": break
        case "allow": configuration.bots.webhooksToPrivateNetworks = true
        default: throw ConfigurationError("COURIER_BOT_WEBHOOKS_TO_PRIVATE_NETWORKS must be allow or deny.")
        }
        if let nodeID = value("COURIER_NODE_ID") {
            guard (1...64).contains(nodeID.count), nodeID.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) else {
                throw ConfigurationError("COURIER_NODE_ID must be 1 to 64 letters, digits, '-', '_', '.' or ':'.")
            }
            configuration.nodeID = nodeID
        }
        return configuration
    }

    private static func proxies(_ list: String?) throws(ConfigurationError) -> TrustedProxies {
        guard let list else { return .none }
        guard let proxies = TrustedProxies(list) else {
            throw ConfigurationError("COURIER_TRUSTED_PROXIES must list IP addresses or CIDR ranges, e.g. 127.0.0.1,10.0.0.0/8,::1.")
        }
        return proxies
    }

    private static func redis(_ url: String?) throws(ConfigurationError) -> String? {
        guard let url else { return nil }
        guard RedisConfiguration(url: url) != nil else {
            throw ConfigurationError("REDIS_URL must be a redis:// or rediss:// URL (redis://:password@host:6379/0).")
        }
        return url
    }

    /// Where media bytes live when no S3 bucket is configured.
    public var mediaDirectory: String { (dataDirectory as NSString).appendingPathComponent("media") }

    /// Where media are processed (plaintext copies for the length of a job).
    public var mediaWorkDirectory: String { (dataDirectory as NSString).appendingPathComponent("tmp/media") }

    /// Where the SQLite database lives when no `DATABASE_URL` is set.
    public var sqlitePath: String { (dataDirectory as NSString).appendingPathComponent("courier.sqlite") }

    /// Where the master key file is: as configured, or `master.key` in the data folder.
    public var masterKeyPath: String { masterKeyFile ?? (dataDirectory as NSString).appendingPathComponent("master.key") }

    /// Where the generated JWT secret is kept when `JWT_SECRET` is not set.
    public var jwtSecretPath: String { (dataDirectory as NSString).appendingPathComponent("jwt-secret") }

    /// Where the audit log's anchor (its newest entry, sealed) is kept, outside the database.
    public var auditAnchorPath: String { (dataDirectory as NSString).appendingPathComponent("audit-anchor") }
}

/// A setting that cannot work, explained for the person who set it.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

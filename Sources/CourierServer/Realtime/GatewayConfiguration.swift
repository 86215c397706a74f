/// Limits and timings of the WebSocket gateway.
public struct GatewayConfiguration: Sendable, Equatable {
    /// Open connections per node; further upgrades get 503.
    public var maxConnections: Int
    /// Open connections of one user per node (a phone, a laptop and a few tabs need a handful);
    /// further upgrades get 429 `too_many_connections_for_user`.
    public var maxConnectionsPerUser: Int
    /// How often the sessions behind open sockets are checked against the database, a backstop for
    /// sign-outs that did not arrive over the bus.
    public var sessionCheckInterval: Duration
    /// Frames waiting for one slow device before its connection is closed (code 4008).
    public var outgoingQueueLimit: Int
    /// How long such a device has to drain what it was sent before its connection is cut.
    public var overflowGrace: Duration
    /// The largest client frame; a larger one closes the connection with 1009.
    public var maxFrameBytes: Int
    /// How often the server pings; a device that does not answer in time is disconnected.
    public var pingInterval: Duration
    /// At most one `typing` frame per chat and connection in this interval is passed on.
    public var typingInterval: Duration

    public static let defaultMaxConnections = 500
    public static let defaultMaxConnectionsPerUser = 20

    public init(
        maxConnections: Int = defaultMaxConnections, maxConnectionsPerUser: Int = defaultMaxConnectionsPerUser,
        outgoingQueueLimit: Int = 1024, overflowGrace: Duration = .seconds(30), maxFrameBytes: Int = 64 * 1024,
        pingInterval: Duration = .seconds(30),
        typingInterval: Duration = .seconds(2), sessionCheckInterval: Duration = .seconds(60)
    ) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerUser = maxConnectionsPerUser
        self.overflowGrace = overflowGrace
        self.sessionCheckInterval = sessionCheckInterval
        self.outgoingQueueLimit = outgoingQueueLimit
        self.maxFrameBytes = maxFrameBytes
        self.pingInterval = pingInterval
        self.typingInterval = typingInterval
    }
}

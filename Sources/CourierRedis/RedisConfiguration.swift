import Foundation

/// Where Redis is and how to sign in: from `REDIS_URL`, `redis://[[user]:password@]host[:port][/db]`
/// (`rediss://` for TLS).
public struct RedisConfiguration: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    public var tls: Bool
    /// Time a command may take before its connection is given up.
    public var commandTimeout: Duration = .seconds(5)
    /// Connections in the pool.
    public var poolSize = 4
    /// A name each connection gives itself (`CLIENT SETNAME`), so that a test can cut exactly its
    /// own on a shared Redis (`RedisClient.cutConnections(named:)`). No spaces. Off by default: a
    /// Redis account whose ACL does not allow `CLIENT` would refuse it, and a subscriber takes a
    /// refusal for a failed sign-in.
    public var clientName: String?

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0, tls: Bool = false) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses a `redis://` or `rediss://` URL; nil when it is not one.
    public init?(url text: String) {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["redis", "rediss"].contains(scheme),
              let host = url.host, !host.isEmpty
        else { return nil }
        self.init(host: host, port: url.port ?? 6379, tls: scheme == "rediss")
        if let user = url.user, !user.isEmpty { username = user.removingPercentEncoding ?? user }
        if let password = url.password, !password.isEmpty { self.password = password.removingPercentEncoding ?? password }
        let path = url.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else { return nil }
            self.database = database
        }
    }

    /// Never shows the password.
    public var description: String {
        "\(tls ? "rediss" : "redis")://\(password == nil ? "" : "\(username ?? ""):***@")\(host):\(port)/\(database)"
    }
}

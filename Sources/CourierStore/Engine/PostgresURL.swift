import Foundation

/// The parts of a `postgres://user:password@host:port/database?sslmode=…` URL.
public struct PostgresURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String?
    public var sslMode: SSLMode

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String?, sslMode: SSLMode = .disable) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    /// Parses a URL; returns nil when it is not a PostgreSQL URL. `sslmode` accepts PostgreSQL's
    /// names (`verify-ca`, `verify-full` count as `require`); without it, TLS is off, as for a
    /// database on the same machine or private network.
    public init?(_ string: String) {
        guard let components = URLComponents(string: string),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme),
              let host = components.host, !host.isEmpty
        else { return nil }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        let sslMode: SSLMode
        switch mode {
        case "disable", "allow": sslMode = .disable
        case "prefer": sslMode = .prefer
        case "require", "verify-ca", "verify-full": sslMode = .require
        default: return nil
        }
        self.init(
            host: host, port: components.port ?? 5432, username: user,
            password: components.password.flatMap { $0.removingPercentEncoding },
            database: path.isEmpty ? nil : path.removingPercentEncoding, sslMode: sslMode
        )
    }
}

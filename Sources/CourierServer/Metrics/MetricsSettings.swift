import Foundation

/// Where `/metrics` is served. Never public by default: it needs a separate listen address (for
/// a Prometheus on a private network) or a bearer token, and is absent when neither is set.
public struct MetricsSettings: Sendable, Equatable {
    /// `COURIER_METRICS_ADDRESS` (`host:port`): a second listener that serves only `/metrics`.
    public var address: (host: String, port: Int)?
    /// `COURIER_METRICS_TOKEN`: `/metrics` on the main port for requests bearing this token.
    public var token: String?

    public init(address: (host: String, port: Int)? = nil, token: String? = nil) {
        self.address = address
        self.token = token
    }

    public static func == (lhs: MetricsSettings, rhs: MetricsSettings) -> Bool {
        lhs.address?.host == rhs.address?.host && lhs.address?.port == rhs.address?.port && lhs.token == rhs.token
    }

    /// The shortest token accepted: guessing one must be out of reach.
    static let minimumTokenLength = 24

    static func resolve(environment: [String: String]) throws(ConfigurationError) -> MetricsSettings {
        var settings = MetricsSettings()
        if let token = environment["COURIER_METRICS_TOKEN"], !token.isEmpty {
            guard token.count >= minimumTokenLength else {
                throw ConfigurationError("COURIER_METRICS_TOKEN must have at least \(minimumTokenLength) characters (openssl rand -hex 24).")
            }
            settings.token = token
        }
        if let address = environment["COURIER_METRICS_ADDRESS"], !address.isEmpty {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port),
                  colon > address.startIndex
            else { throw ConfigurationError("COURIER_METRICS_ADDRESS must be host:port, like 127.0.0.1:9090.") }
            settings.address = (String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
        }
        return settings
    }
}

import Foundation

/// Where clients find STUN and TURN servers, and the secret the TURN server (coturn with
/// `use-auth-secret`) shares with Courier to check the credentials Courier hands out.
public struct TURNSettings: Sendable, Equatable {
    /// `stun:`, `turn:` and `turns:` URLs (`COURIER_TURN_URLS`, comma-separated).
    public var urls: [String]
    /// coturn's `static-auth-secret` (`COURIER_TURN_SECRET`); without it, TURN URLs are not offered.
    public var secret: String?
    /// How long a credential lasts (`COURIER_TURN_TTL_SECONDS`, 1 hour by default).
    public var ttl: Duration

    public init(urls: [String] = [], secret: String? = nil, ttl: Duration = .seconds(3600)) {
        self.urls = urls
        self.secret = secret
        self.ttl = ttl
    }

    /// From the environment; nil when no URL is set (then clients use no STUN or TURN server).
    public static func resolve(environment: [String: String]) throws(ConfigurationError) -> TURNSettings {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        let urls = (value("COURIER_TURN_URLS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for url in urls {
            guard ["stun:", "stuns:", "turn:", "turns:"].contains(where: url.hasPrefix), url.count <= 256 else {
                throw ConfigurationError("COURIER_TURN_URLS must list stun:, turn: or turns: URLs, like turn:turn.example.com:3478?transport=udp.")
            }
        }
        let secret = value("COURIER_TURN_SECRET")
        if let secret, secret.utf8.count < 16 {
            throw ConfigurationError("COURIER_TURN_SECRET must be at least 16 characters (coturn's static-auth-secret).")
        }
        if secret == nil, urls.contains(where: { $0.hasPrefix("turn") }) {
            throw ConfigurationError("COURIER_TURN_URLS names TURN servers: set COURIER_TURN_SECRET to coturn's static-auth-secret.")
        }
        var ttl = 3600
        if let text = value("COURIER_TURN_TTL_SECONDS") {
            guard let seconds = Int(text), (60...86_400).contains(seconds) else {
                throw ConfigurationError("COURIER_TURN_TTL_SECONDS must be 60 to 86400.")
            }
            ttl = seconds
        }
        return TURNSettings(urls: urls, secret: secret, ttl: .seconds(ttl))
    }
}

import Foundation

/// The proxies (Caddy, say) whose `X-Forwarded-For` header is believed: IP addresses and CIDR
/// ranges, IPv4 or IPv6, from `COURIER_TRUSTED_PROXIES`. A request from anywhere else is taken to
/// come from its peer, whatever headers it sends, so a client cannot pick its own address for the
/// rate limits and the audit log.
public struct TrustedProxies: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        let network: [UInt8]
        let prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == network.count else { return false }
            var bits = prefix
            for (a, b) in zip(address, network) {
                if bits <= 0 { return true }
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if a & mask != b & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    let ranges: [Range]

    public static let none = TrustedProxies(ranges: [])

    init(ranges: [Range]) {
        self.ranges = ranges
    }

    /// Parses "10.0.0.0/8, 127.0.0.1, ::1"; nil when an entry is not an address or range.
    public init?(_ list: String) {
        var ranges: [Range] = []
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let address = Self.bytes(parts[0]) else { return nil }
            let prefix = parts.count == 2 ? Int(parts[1]) : address.count * 8
            guard let prefix, (0...(address.count * 8)).contains(prefix) else { return nil }
            ranges.append(Range(network: address, prefix: prefix))
        }
        self.init(ranges: ranges)
    }

    public func trusts(_ address: String) -> Bool {
        guard let bytes = Self.bytes(address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }

    /// The client's address: `peer` itself, unless it is a trusted proxy; then the nearest address
    /// in `X-Forwarded-For` that is not one (proxies append, so the right end is the most trusted).
    public func clientAddress(peer: String?, forwardedFor: String?) -> String? {
        guard let peer, trusts(peer), let forwardedFor else { return peer }
        for candidate in forwardedFor.split(separator: ",").reversed().map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard Self.bytes(candidate) != nil else { return peer }
            if !trusts(candidate) { return candidate }
        }
        return peer
    }

    /// An address's bytes (4 for IPv4, 16 for IPv6), nil for anything else.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

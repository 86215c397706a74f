import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// An IP address a host name resolves to, and whether it is one no webhook may reach by default.
struct NetworkAddress: Sendable, Equatable {
    let text: String
    let bytes: [UInt8]

    /// The addresses of `host` (resolved on NIO's thread pool: `getaddrinfo` blocks).
    static func resolve(_ host: String) async throws -> [NetworkAddress] {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
            defer { freeaddrinfo(list) }
            var found: [NetworkAddress] = []
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let current = entry {
                if let address = current.pointee.ai_addr {
                    if current.pointee.ai_family == AF_INET {
                        var ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                        let bytes = withUnsafeBytes(of: &ipv4) { Array($0) }
                        found.append(NetworkAddress(text: bytes.map(String.init).joined(separator: "."), bytes: bytes))
                    } else if current.pointee.ai_family == AF_INET6 {
                        var ipv6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                        let bytes = withUnsafeBytes(of: &ipv6) { Array($0) }
                        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                        inet_ntop(AF_INET6, &ipv6, &buffer, socklen_t(buffer.count))
                        found.append(NetworkAddress(text: String(cString: buffer), bytes: bytes))
                    }
                }
                entry = current.pointee.ai_next
            }
            return found
        }
    }

    /// Anything but a public unicast address: loopback, private (RFC 1918), link-local, carrier-grade
    /// NAT, the documentation and benchmarking ranges, unspecified, multicast and reserved; for IPv6
    /// everything outside global unicast (2000::/3), and the parts of it that carry an IPv4 address
    /// or are not routed (6to4, Teredo, documentation). None is a bot's public server.
    var isPrivate: Bool {
        if bytes.count == 4 {
            let (a, b, c) = (bytes[0], bytes[1], bytes[2])
            return a == 0 || a == 10 || a == 127 || (a == 169 && b == 254) || (a == 172 && (16...31).contains(b))
                || (a == 192 && b == 168) || (a == 100 && (64...127).contains(b)) || a >= 224
                || (a == 192 && b == 0 && (c == 0 || c == 2)) || (a == 198 && (18...19).contains(b))
                || (a == 198 && b == 51 && c == 100) || (a == 203 && b == 0 && c == 113) || (a == 192 && b == 88 && c == 99)
        }
        guard bytes.count == 16 else { return true }
        // An IPv4 address mapped into IPv6 is judged as that address.
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return NetworkAddress(text: text, bytes: Array(bytes[12...])).isPrivate
        }
        guard bytes[0] & 0xe0 == 0x20 else { return true }
        let (first, second) = (UInt16(bytes[0]) << 8 | UInt16(bytes[1]), UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
        // 6to4, Teredo, benchmarking (2001:2::/48), ORCHIDv2 (2001:10::/28), documentation (2001:db8::/32, 3fff::/20).
        return first == 0x2002 || first == 0x3fff
            || (first == 0x2001 && (second == 0 || second == 0x0db8 || second == 0x0002 || (second & 0xfff0) == 0x0010))
    }
}

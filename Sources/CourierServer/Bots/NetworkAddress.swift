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

    /// Loopback, private (RFC 1918, unique local), link-local, carrier-grade NAT, unspecified or
    /// multicast: none is a bot's public server.
    var isPrivate: Bool {
        if bytes.count == 4 {
            let (a, b) = (bytes[0], bytes[1])
            return a == 0 || a == 10 || a == 127 || (a == 169 && b == 254) || (a == 172 && (16...31).contains(b))
                || (a == 192 && b == 168) || (a == 100 && (64...127).contains(b)) || a >= 224
        }
        guard bytes.count == 16 else { return true }
        if bytes.allSatisfy({ $0 == 0 }) || bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
        // An IPv4 address mapped into IPv6.
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return NetworkAddress(text: text, bytes: Array(bytes[12...])).isPrivate
        }
        return (bytes[0] & 0xfe) == 0xfc || (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) || bytes[0] == 0xff
    }
}

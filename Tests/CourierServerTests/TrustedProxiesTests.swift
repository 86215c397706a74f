import CourierServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The client's address comes from `X-Forwarded-For` only when the peer is a trusted proxy.
@Suite("Trusted proxies")
struct TrustedProxiesTests {
    @Test func listsAndForwardedAddresses() throws {
        let proxies = try #require(TrustedProxies("127.0.0.1, 10.0.0.0/8 ,::1, fd00::/8"))
        #expect(proxies.trusts("10.20.30.40") && proxies.trusts("127.0.0.1") && proxies.trusts("::1") && proxies.trusts("fd12::1"))
        #expect(!proxies.trusts("11.0.0.1") && !proxies.trusts("fe80::1") && !proxies.trusts("not an address"))
        #expect(TrustedProxies("10.0.0.0/33") == nil && TrustedProxies("example.com") == nil)
        // Through a trusted proxy: the nearest untrusted address; proxies chained are skipped.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "203.0.113.7") == "203.0.113.7")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "198.51.100.1, 203.0.113.7, 10.0.0.5") == "203.0.113.7")
        // A client that forges the header gets its own address.
        #expect(proxies.clientAddress(peer: "203.0.113.9", forwardedFor: "1.2.3.4") == "203.0.113.9")
        #expect(TrustedProxies.none.clientAddress(peer: "127.0.0.1", forwardedFor: "1.2.3.4") == "127.0.0.1")
        // Garbage in the header: the proxy's own address, never the garbage.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "<script>") == "127.0.0.1")
    }

    /// A session records the forwarded address behind a trusted proxy, and the peer's otherwise.
    @Test(arguments: [true, false])
    func sessionsRecordTheClientsAddress(trusting: Bool) async throws {
        try await TestEngine.sqlite.withStore { store in
            let services = try await AppServices(store: store, jwtSecret: testJWTSecret, bcryptCost: 4)
            let app = buildApplication(
                services: services, host: "127.0.0.1", port: 0, trustedProxies: trusting ? TrustedProxies("127.0.0.1")! : .none,
                logger: TestEngine.logger
            )
            try await app.test(.live) { client in
                let api = APIClient(client: client)
                let response = try await api.send(.post, "/api/v1/auth/register", json: [
                    "username": "alice_1", "phone": APIClient.phone(for: "alice_1"), "password": "correct horse battery",
                ], headers: [.init("X-Forwarded-For")!: "203.0.113.7"])
                let alice = try SignedInUser(response)
                let sessions = try await api.send(.get, "/api/v1/auth/sessions", token: alice.token)
                let addresses = (sessions["sessions"] as? [[String: Any]])?.compactMap { $0["ip_address"] as? String }
                #expect(addresses == [trusting ? "203.0.113.7" : "127.0.0.1"], "\(sessions.json)")
            }
        }
    }
}

import CourierServer
import Foundation
import HTTPTypes
import Testing

@Suite("Rate limits, CORS and security headers")
struct AbuseLimitTests {
    static let tight = RateLimitSettings(
        user: .init(5, per: 60), premiumUser: .init(50, per: 60), registerPerIP: .init(3, per: 3600),
        loginPerIP: .init(50, per: 60), loginFailuresPerAccount: .init(3, per: 900)
    )

    @Test(arguments: TestEngine.all)
    func requestsPerUserAreLimitedAndPremiumGetsMore(engine: TestEngine) async throws {
        try await withTestApp(engine, rateLimits: Self.tight) { api, _ in
            let alice = try await api.register(username: "alice_1")
            for _ in 1...5 { #expect(try await api.send(.get, "/api/v1/users/me", token: alice.token).status == .ok) }
            let limited = try await api.send(.get, "/api/v1/users/me", token: alice.token)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "rate_limited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)

            let bob = try await api.register(username: "bob_12")
            #expect(try await api.send(.post, "/api/v1/subscriptions/purchase", json: ["subscription_type": "premium_monthly"], token: bob.token).status == .ok)
            for _ in 1...10 { #expect(try await api.send(.get, "/api/v1/users/me", token: bob.token).status == .ok) }
        }
    }

    @Test(arguments: TestEngine.all)
    func searchesHaveABudgetOfTheirOwn(engine: TestEngine) async throws {
        try await withTestApp(engine, rateLimits: RateLimitSettings(user: .init(100, per: 60), searchPerUser: .init(3, per: 60))) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            for _ in 1...3 { #expect(try await api.send(.get, "/api/v1/search?q=hello", token: alice.token).status == .ok) }
            let limited = try await api.send(.get, "/api/v1/search?q=hello", token: alice.token)
            #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited")
            // Only searching is held back, and only for her.
            #expect(try await api.send(.get, "/api/v1/users/me", token: alice.token).status == .ok)
            #expect(try await api.send(.get, "/api/v1/search?q=hello", token: bob.token).status == .ok)
        }
    }

    @Test(arguments: TestEngine.all)
    func failedSignInsLockTheAccountForAWhile(engine: TestEngine) async throws {
        try await withTestApp(engine, rateLimits: Self.tight) { api, _ in
            try await api.register(username: "alice_1")
            try await api.register(username: "bob_12")
            for _ in 1...3 {
                #expect(try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "guess guess"]).status == .unauthorized)
            }
            let locked = try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery"])
            #expect(locked.status == .tooManyRequests)
            #expect(locked.headers[.retryAfter] != nil)
            #expect(try await api.send(.post, "/api/v1/auth/login", json: ["username": "bob_12", "password": "correct horse battery"]).status == .ok)
        }
    }

    @Test(arguments: TestEngine.all)
    func registrationsPerAddressAreLimited(engine: TestEngine) async throws {
        try await withTestApp(engine, rateLimits: Self.tight) { api, _ in
            for name in ["user_one", "user_two", "user_three"] { try await api.register(username: name) }
            let fourth = try await api.send(.post, "/api/v1/auth/register", json: [
                "username": "user_four", "phone": APIClient.phone(for: "user_four"), "password": "correct horse",
            ])
            #expect(fourth.status == .tooManyRequests)
        }
    }

    @Test(arguments: TestEngine.all)
    func webSocketFramesShareTheBudget(engine: TestEngine) async throws {
        try await withLiveServer(engine, rateLimits: RateLimitSettings(user: .init(8, per: 60))) { client, _ in
            let alice = try await client.signUp("alice_1")
            let chat = try await client.createGroup(named: "Team", members: [], token: alice.token)
            let device = await TestDevice(client, token: alice.token)
            try await device.ready()
            var codes: [String?] = []
            for index in 1...10 { codes.append(try await device.connection.send("m\(index)", to: chat).error?.code) }
            #expect(codes.contains("rate_limited"))
            #expect(codes.filter { $0 == nil }.count >= 5)
            await device.stop()
        }
    }

    @Test func corsAllowsOnlyConfiguredOrigins() async throws {
        try await withTestApp(.sqlite, allowedOrigins: ["https://app.example.com"]) { api, _ in
            let allowed = try await api.send(.get, "/health", headers: [.origin: "https://app.example.com"])
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
            let other = try await api.send(.get, "/health", headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)

            let preflight = try await api.send(.options, "/api/v1/users/me", headers: [
                .origin: "https://app.example.com", .accessControlRequestMethod: "GET",
            ])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("PATCH") == true)
            let refused = try await api.send(.options, "/api/v1/users/me", headers: [
                .origin: "https://evil.example", .accessControlRequestMethod: "GET",
            ])
            #expect(refused.status == .forbidden)
        }
    }

    @Test func responsesCarrySecurityHeaders() async throws {
        try await withTestApp(.sqlite) { api, _ in
            for path in ["/health", "/api/v1/users/me"] {
                let response = try await api.send(.get, path)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
            }
            #expect(try await api.send(.get, "/api/v1/users/me").headers[.cacheControl] == "no-store")
        }
    }
}

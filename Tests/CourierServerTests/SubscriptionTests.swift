import CourierCore
import Foundation
import Testing

@Suite("Premium subscriptions")
struct SubscriptionTests {
    static var monthly: [String: Any?] { ["subscription_type": "premium_monthly", "payment_method": "stub"] }

    @Test(arguments: TestEngine.all)
    func purchaseActivatesPremiumWithAStubPayment(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bought = try await api.send(.post, "/api/v1/subscriptions/purchase", json: Self.monthly, token: alice.token)
            #expect(bought.status == .ok)
            #expect(bought["message"] as? String == "MVP: Payment stub activated. No real charge.")
            let payment = try bought.object("payment_log")
            #expect(payment["amount"] as? Double == 4.99)
            #expect(payment["status"] as? String == "completed_stub")
            #expect(payment["notes"] as? String == "Stub payment - no real charge")
            let subscription = try bought.object("subscription")
            #expect(subscription["type"] as? String == "premium_monthly")
            #expect(subscription["status"] as? String == "active")
            #expect(subscription["user_id"] as? String == alice.id)

            #expect(try await api.send(.get, "/api/v1/users/me", token: alice.token)["is_premium"] as? Bool == true)
            let login = try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery"])
            #expect(try login.object("user")["is_premium"] as? Bool == true)
            let status = try await api.send(.get, "/api/v1/subscriptions/me", token: alice.token)
            #expect(status["is_premium"] as? Bool == true)
            #expect(try status.object("subscription")["auto_renew"] as? Bool == true)

            let yearly = try await api.send(.post, "/api/v1/subscriptions/purchase", json: ["subscription_type": "premium_yearly"], token: alice.token)
            #expect(try yearly.object("payment_log")["amount"] as? Double == 49.99)
        }
    }

    @Test(arguments: TestEngine.all)
    func buyingAgainExtendsAndIdempotencyKeysPreventDoubleCharges(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let path = "/api/v1/subscriptions/purchase"
            let first = try await api.send(.post, path, json: Self.monthly, token: alice.token, headers: [.init("Idempotency-Key")!: "order-1"])
            let retry = try await api.send(.post, path, json: Self.monthly, token: alice.token, headers: [.init("Idempotency-Key")!: "order-1"])
            #expect(retry.status == .ok)
            #expect(try retry.object("payment_log")["id"] as? String == first.object("payment_log")["id"] as? String)
            #expect(try retry.object("subscription")["end_date"] as? String == first.object("subscription")["end_date"] as? String)

            let second = try await api.send(.post, path, json: Self.monthly, token: alice.token, headers: [.init("Idempotency-Key")!: "order-2"])
            let firstEnd = try Self.date(first.object("subscription")["end_date"])
            let secondEnd = try Self.date(second.object("subscription")["end_date"])
            #expect(abs(secondEnd.timeIntervalSince(firstEnd) - 30 * 86400) < 5)
            #expect(try second.object("subscription")["id"] as? String == first.object("subscription")["id"] as? String)

            let bad: [[String: Any?]] = [["subscription_type": "premium_forever"], ["subscription_type": "premium_monthly", "payment_method": "card"]]
            for body in bad {
                #expect(try await api.send(.post, path, json: body, token: alice.token).status == .unprocessableContent)
            }
            let longKey = try await api.send(.post, path, json: Self.monthly, token: alice.token, headers: [.init("Idempotency-Key")!: String(repeating: "k", count: 129)])
            #expect(longKey.status == .badRequest)
        }
    }

    @Test(arguments: TestEngine.all)
    func cancellingKeepsPremiumUntilTheEndDate(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let none = try await api.send(.post, "/api/v1/subscriptions/cancel", token: alice.token)
            #expect(none.status == .notFound)
            #expect(try await api.send(.get, "/api/v1/subscriptions/me", token: alice.token)["is_premium"] as? Bool == false)

            _ = try await api.send(.post, "/api/v1/subscriptions/purchase", json: Self.monthly, token: alice.token)
            let cancelled = try await api.send(.post, "/api/v1/subscriptions/cancel", token: alice.token)
            #expect(cancelled.status == .ok)
            #expect(try cancelled.object("subscription")["auto_renew"] as? Bool == false)
            #expect(try cancelled.object("subscription")["status"] as? String == "cancelled")
            #expect(try await api.send(.get, "/api/v1/subscriptions/me", token: alice.token)["is_premium"] as? Bool == true)
        }
    }

    @Test(arguments: TestEngine.all)
    func premiumEndsAfterTheEndDate(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            for user in [alice, bob] {
                _ = try await api.send(.post, "/api/v1/subscriptions/purchase", json: Self.monthly, token: user.token)
            }
            let past = Timestamp.now().adding(seconds: -60).milliseconds
            try await services.store.engine.write { try await $0.raw("UPDATE subscriptions SET end_date = \(bind: past)").run() }

            // Checked on read…
            let status = try await api.send(.get, "/api/v1/subscriptions/me", token: alice.token)
            #expect(status["is_premium"] as? Bool == false)
            #expect(try await api.send(.get, "/api/v1/users/me", token: alice.token)["is_premium"] as? Bool == false)
            // …and by the periodic job for everyone else.
            #expect(try await api.send(.get, "/api/v1/users/me", token: bob.token)["is_premium"] as? Bool == true)
            #expect(try await services.premium.expireDue() == 1)
            #expect(try await api.send(.get, "/api/v1/users/me", token: bob.token)["is_premium"] as? Bool == false)
        }
    }

    static func date(_ value: Any?) throws -> Date {
        let text = try #require(value as? String)
        return try Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

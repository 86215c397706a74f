import CourierCore
import CourierStore
import Foundation

/// Premium subscriptions with stub payments, and the one answer to "is this user premium now?".
///
/// Payments are logged, never charged. Premium ends at the subscription's end date: checked when
/// read, and by the premium expiry job (`PeriodicJob.premiumExpiry`) for everyone else.
public struct PremiumService: Sendable {
    let subscriptions: SubscriptionStore
    let users: UserStore
    /// Premium changes a user's request budget: the limiter is told when it changes.
    let limiter: RateLimiter

    public init(subscriptions: SubscriptionStore, users: UserStore, limiter: RateLimiter) {
        self.subscriptions = subscriptions
        self.users = users
        self.limiter = limiter
    }

    public struct Purchase: Sendable {
        public let subscription: Subscription
        public let payment: PaymentLog
        /// True when this answers a retry with an Idempotency-Key used before.
        public let replayed: Bool
    }

    public static let maxIdempotencyKeyCharacters = 128

    /// Buys (or extends) premium with the stub payment method.
    public func purchase(plan rawPlan: String, paymentMethod: String, idempotencyKey: String?, for userID: UUID) async throws -> Purchase {
        guard let plan = SubscriptionPlan(rawValue: rawPlan) else {
            throw CourierError.invalid("subscription_type", "subscription_type must be premium_monthly or premium_yearly.")
        }
        guard paymentMethod == "stub" else {
            throw CourierError.invalid("payment_method", "Only the stub payment method exists: payments are logged, never charged.")
        }
        if let idempotencyKey {
            guard !idempotencyKey.isEmpty, idempotencyKey.count <= Self.maxIdempotencyKeyCharacters else {
                throw CourierError(
                    .badRequest, code: "invalid_idempotency_key",
                    message: "Idempotency-Key must be 1 to \(Self.maxIdempotencyKeyCharacters) characters.", field: "Idempotency-Key"
                )
            }
        }
        let now = Timestamp.now()
        try await subscriptions.expireDue(at: now, userID: userID)
        let result = try await subscriptions.purchase(plan, for: userID, idempotencyKey: idempotencyKey, at: now)
        await limiter.premiumChanged(userID)
        return Purchase(subscription: result.subscription, payment: result.payment, replayed: result.replayed)
    }

    /// The running subscription, after ending any that ran out.
    public func currentSubscription(of userID: UUID) async throws -> Subscription? {
        let now = Timestamp.now()
        try await subscriptions.expireDue(at: now, userID: userID)
        return try await subscriptions.current(userID: userID, at: now)
    }

    /// Turns renewal off; premium lasts until the end date.
    public func cancel(for userID: UUID) async throws -> Subscription {
        let now = Timestamp.now()
        try await subscriptions.expireDue(at: now, userID: userID)
        guard let subscription = try await subscriptions.cancel(userID: userID, at: now) else {
            throw CourierError(.notFound, code: "no_subscription", message: "You have no running subscription to cancel.")
        }
        return subscription
    }

    /// Whether the user is premium right now. Ends their subscription first when it ran out (a
    /// write), so the answer and `is_premium` agree.
    public func expireAndCheckPremium(_ userID: UUID) async throws -> Bool {
        try await currentSubscription(of: userID) != nil
    }

    /// Takes one request (REST call or WebSocket frame) from the user's rate-limit budget, which
    /// premium raises; 429 when it is spent.
    public func takeRequestBudget(of userID: UUID) async throws {
        try await limiter.takeRequest(of: userID) { try await expireAndCheckPremium(userID) }
    }

    /// Ends every subscription past its end date; returns how many users lost premium.
    @discardableResult
    public func expireDue() async throws -> Int {
        try await subscriptions.expireDue(at: .now())
    }
}

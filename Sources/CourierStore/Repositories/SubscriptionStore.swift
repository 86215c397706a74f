import CourierCore
import Foundation
import SQLKit

/// Premium subscriptions and their (stub) payment logs, and the `users.is_premium` flag they drive.
public struct SubscriptionStore: Sendable {
    let engine: any DatabaseEngine

    public init(engine: any DatabaseEngine) { self.engine = engine }

    private static let columns = "id, user_id, type, start_date, end_date, auto_renew, status, created_at"
    private static let paymentColumns = "id, user_id, amount_cents, subscription_type, status, payment_method, notes, subscription_id, created_at"
    static let stubNotes = "Stub payment - no real charge"

    /// The subscription that makes the user premium now, if any.
    public func current(userID: UUID, at time: Timestamp) async throws -> Subscription? {
        try await engine.read { sql in
            try await Self.current(userID: userID, at: time, on: sql)
        }
    }

    /// Records a stub payment and grants or extends premium, in one transaction. With an
    /// idempotency key that was used before, returns the first purchase instead (`replayed`).
    public func purchase(
        _ plan: SubscriptionPlan, for userID: UUID, idempotencyKey: String?, at time: Timestamp
    ) async throws -> (subscription: Subscription, payment: PaymentLog, replayed: Bool) {
        let attempt: @Sendable () async throws -> (Subscription, PaymentLog, Bool) = {
            try await engine.write { sql in
                if let idempotencyKey, let earlier = try await Self.payment(userID: userID, key: idempotencyKey, on: sql) {
                    return (try await Self.subscription(id: earlier.subscriptionID, on: sql), earlier, true)
                }
                let days = plan.days * 24 * 60 * 60
                var subscription: Subscription
                if var running = try await Self.current(userID: userID, at: time, on: sql) {
                    // Buying while premium adds the new period after the current one.
                    running.plan = plan
                    running.endDate = max(running.endDate, time).adding(seconds: days)
                    running.status = .active
                    running.autoRenew = true
                    try await sql.raw("""
                        UPDATE subscriptions SET type = \(bind: plan.rawValue), end_date = \(bind: running.endDate.milliseconds),
                            status = 'active', auto_renew = \(bind: true)
                        WHERE id = \(bind: running.id)
                        """).run()
                    subscription = running
                } else {
                    subscription = Subscription(
                        id: UUID.random(), userID: userID, plan: plan, startDate: time, endDate: time.adding(seconds: days),
                        autoRenew: true, status: .active, createdAt: time
                    )
                    try await sql.raw("""
                        INSERT INTO subscriptions (\(unsafeRaw: Self.columns))
                        VALUES (\(bind: subscription.id), \(bind: userID), \(bind: plan.rawValue), \(bind: time.milliseconds),
                                \(bind: subscription.endDate.milliseconds), \(bind: true), 'active', \(bind: time.milliseconds))
                        """).run()
                }
                let payment = PaymentLog(
                    id: UUID.random(), userID: userID, amountCents: plan.priceCents, plan: plan, status: "completed_stub",
                    paymentMethod: "stub", notes: Self.stubNotes, subscriptionID: subscription.id, createdAt: time
                )
                try await sql.raw("""
                    INSERT INTO payment_logs (\(unsafeRaw: Self.paymentColumns), idempotency_key)
                    VALUES (\(bind: payment.id), \(bind: userID), \(bind: payment.amountCents), \(bind: plan.rawValue),
                            \(bind: payment.status), \(bind: payment.paymentMethod), \(bind: payment.notes), \(bind: subscription.id),
                            \(bind: time.milliseconds), \(bind: idempotencyKey))
                    """).run()
                let became = try await sql.raw("""
                    UPDATE users SET is_premium = \(bind: true), updated_at = \(bind: time.milliseconds)
                    WHERE id = \(bind: userID) AND is_premium = \(bind: false) RETURNING id
                    """).first()
                if became != nil { try await UpdateLog.record(.premiumChanged, for: userID, value: 1, at: time, on: sql) }
                return (subscription, payment, false)
            }
        }
        do {
            let (subscription, payment, replayed) = try await attempt()
            return (subscription, payment, replayed)
        } catch where UniqueViolation(error) != nil && idempotencyKey != nil {
            // The same key raced in concurrently; the first one won, so answer with it.
            let (subscription, payment, _) = try await attempt()
            return (subscription, payment, true)
        }
    }

    /// Turns renewal off; premium lasts until the end date. Returns nil without a running subscription.
    public func cancel(userID: UUID, at time: Timestamp) async throws -> Subscription? {
        try await engine.write { sql in
            guard var subscription = try await Self.current(userID: userID, at: time, on: sql) else { return nil }
            subscription.autoRenew = false
            subscription.status = .cancelled
            try await sql.raw("""
                UPDATE subscriptions SET auto_renew = \(bind: false), status = 'cancelled' WHERE id = \(bind: subscription.id)
                """).run()
            return subscription
        }
    }

    /// Marks subscriptions past their end date expired and clears `is_premium` of users left
    /// without one. `userID` limits it to one user. Returns how many users lost premium.
    @discardableResult
    public func expireDue(at time: Timestamp, userID: UUID? = nil) async throws -> Int {
        try await engine.write { sql in
            let onlyUser: SQLQueryString = userID.map { "AND user_id = \(bind: $0)" } ?? ""
            try await sql.raw("""
                UPDATE subscriptions SET status = 'expired' WHERE status <> 'expired' AND end_date <= \(bind: time.milliseconds) \(onlyUser)
                """).run()
            let onlyID: SQLQueryString = userID.map { "AND id = \(bind: $0)" } ?? ""
            let lost = try await sql.raw("""
                UPDATE users SET is_premium = \(bind: false), updated_at = \(bind: time.milliseconds)
                WHERE is_premium = \(bind: true) \(onlyID)
                  AND NOT EXISTS (SELECT 1 FROM subscriptions s
                                  WHERE s.user_id = users.id AND s.status <> 'expired' AND s.end_date > \(bind: time.milliseconds))
                RETURNING id
                """).all()
            for row in lost {
                try await UpdateLog.record(.premiumChanged, for: try row.decode(column: "id", as: UUID.self), value: 0, at: time, on: sql)
            }
            return lost.count
        }
    }

    private static func current(userID: UUID, at time: Timestamp, on sql: any SQLDatabase) async throws -> Subscription? {
        try await sql.raw("""
            SELECT \(unsafeRaw: columns) FROM subscriptions
            WHERE user_id = \(bind: userID) AND status <> 'expired' AND end_date > \(bind: time.milliseconds)
            ORDER BY end_date DESC LIMIT 1
            """).first().map(Subscription.init(row:))
    }

    private static func subscription(id: UUID?, on sql: any SQLDatabase) async throws -> Subscription {
        guard let id, let subscription = try await sql.raw("SELECT \(unsafeRaw: columns) FROM subscriptions WHERE id = \(bind: id)")
            .first().map(Subscription.init(row:))
        else { throw CourierError.notFound("subscription") }
        return subscription
    }

    private static func payment(userID: UUID, key: String, on sql: any SQLDatabase) async throws -> PaymentLog? {
        try await sql.raw("""
            SELECT \(unsafeRaw: paymentColumns) FROM payment_logs WHERE user_id = \(bind: userID) AND idempotency_key = \(bind: key)
            """).first().map(PaymentLog.init(row:))
    }
}

extension Subscription {
    init(row: any SQLRow) throws {
        self.init(
            id: try row.decode(column: "id", as: UUID.self),
            userID: try row.decode(column: "user_id", as: UUID.self),
            plan: try row.decodeEnum(column: "type", as: SubscriptionPlan.self),
            startDate: try row.decodeTimestamp(column: "start_date"),
            endDate: try row.decodeTimestamp(column: "end_date"),
            autoRenew: try row.decode(column: "auto_renew", as: Bool.self),
            status: try row.decodeEnum(column: "status", as: SubscriptionStatus.self),
            createdAt: try row.decodeTimestamp(column: "created_at")
        )
    }
}

extension PaymentLog {
    init(row: any SQLRow) throws {
        self.init(
            id: try row.decode(column: "id", as: UUID.self),
            userID: try row.decode(column: "user_id", as: UUID.self),
            amountCents: try row.decode(column: "amount_cents", as: Int64.self),
            plan: try row.decodeEnum(column: "subscription_type", as: SubscriptionPlan.self),
            status: try row.decode(column: "status", as: String.self),
            paymentMethod: try row.decode(column: "payment_method", as: String.self),
            notes: try row.decode(column: "notes", as: String?.self),
            subscriptionID: try row.decode(column: "subscription_id", as: UUID?.self),
            createdAt: try row.decodeTimestamp(column: "created_at")
        )
    }
}

import Foundation

/// A user's premium subscription.
public struct Subscription: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var userID: UUID
    public var plan: SubscriptionPlan
    public var startDate: Timestamp
    public var endDate: Timestamp
    public var autoRenew: Bool
    public var status: SubscriptionStatus
    public var createdAt: Timestamp

    public init(
        id: UUID, userID: UUID, plan: SubscriptionPlan, startDate: Timestamp, endDate: Timestamp, autoRenew: Bool,
        status: SubscriptionStatus, createdAt: Timestamp
    ) {
        self.id = id
        self.userID = userID
        self.plan = plan
        self.startDate = startDate
        self.endDate = endDate
        self.autoRenew = autoRenew
        self.status = status
        self.createdAt = createdAt
    }

    /// Whether this subscription makes its user premium at `time`.
    public func grantsPremium(at time: Timestamp) -> Bool {
        status != .expired && time < endDate
    }
}

/// The record of one (stub) payment.
public struct PaymentLog: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var userID: UUID
    public var amountCents: Int64
    public var plan: SubscriptionPlan
    public var status: String
    public var paymentMethod: String
    public var notes: String?
    public var subscriptionID: UUID?
    public var createdAt: Timestamp

    public init(
        id: UUID, userID: UUID, amountCents: Int64, plan: SubscriptionPlan, status: String, paymentMethod: String,
        notes: String?, subscriptionID: UUID?, createdAt: Timestamp
    ) {
        self.id = id
        self.userID = userID
        self.amountCents = amountCents
        self.plan = plan
        self.status = status
        self.paymentMethod = paymentMethod
        self.notes = notes
        self.subscriptionID = subscriptionID
        self.createdAt = createdAt
    }
}

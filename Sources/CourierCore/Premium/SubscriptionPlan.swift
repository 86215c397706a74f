/// The premium plans and their stub prices. Payments are logged, never charged.
public enum SubscriptionPlan: String, Sendable, Codable, CaseIterable {
    case premiumMonthly = "premium_monthly"
    case premiumYearly = "premium_yearly"

    /// Price in cents.
    public var priceCents: Int64 {
        switch self {
        case .premiumMonthly: 499
        case .premiumYearly: 4999
        }
    }

    /// Days of premium a purchase adds.
    public var days: Int64 {
        switch self {
        case .premiumMonthly: 30
        case .premiumYearly: 365
        }
    }
}

/// A premium subscription's state.
public enum SubscriptionStatus: String, Sendable, Codable {
    /// Running and renewing.
    case active
    /// Renewal turned off; premium lasts until the end date.
    case cancelled
    /// Past its end date.
    case expired
}

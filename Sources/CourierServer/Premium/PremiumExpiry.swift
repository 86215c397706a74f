import Logging

extension PeriodicJob {
    /// Every minute, ends the subscriptions that ran out, so `is_premium` is right for users who are
    /// not looking (their group limits, say), not only for those who ask.
    static func premiumExpiry(_ premium: PremiumService, logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "premium expiry", interval: .seconds(60), logger: logger) {
            let expired = try await premium.expireDue()
            if expired > 0 { logger.info("premium expired", metadata: ["users": "\(expired)"]) }
        }
    }
}

import Logging
import ServiceLifecycle

/// Every minute, ends the subscriptions that ran out, so `is_premium` is right for users who are not
/// looking (their group limits, say), not only for those who ask.
struct PremiumExpiryService: Service {
    let premium: PremiumService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let expired = try await premium.expireDue()
                if expired > 0 { logger.info("premium expired", metadata: ["users": "\(expired)"]) }
            } catch {
                logger.warning("premium expiry failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}


import CourierCore
import CourierStore
import Logging

extension PeriodicJob {
    /// Every hour, removes updates older than `retention`. A device further behind than what is
    /// left is told `too_long` for that chat (or its own log) and reloads it.
    static func updatePruning(_ updates: UpdateStore, retention: Duration, logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "update log pruning", interval: .seconds(3600), logger: logger) {
            let cutoff = Timestamp.now().adding(seconds: -retention.components.seconds)
            let removed = try await updates.prune(createdBefore: cutoff)
            if removed > 0 { logger.info("pruned the update log", metadata: ["updates": "\(removed)"]) }
        }
    }
}

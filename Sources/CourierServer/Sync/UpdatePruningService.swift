import CourierCore
import CourierStore
import Logging
import ServiceLifecycle

/// Every `interval`, removes updates older than the retention. A device further behind than what
/// is left is told `too_long` for that chat (or its own log) and reloads it.
struct UpdatePruningService: Service {
    let updates: UpdateStore
    let retention: Duration
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let cutoff = Timestamp.now().adding(seconds: -retention.components.seconds)
                let removed = try await updates.prune(createdBefore: cutoff)
                if removed > 0 { logger.info("pruned the update log", metadata: ["updates": "\(removed)"]) }
            } catch {
                logger.warning("update log pruning failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

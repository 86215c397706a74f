import Foundation
import Logging
import ServiceLifecycle

/// The most a stopping node may take. Draining, requests in flight and background jobs normally end
/// well within it; a connection that never finishes its request (a client trickling a body) or a
/// job stuck on a dead connection must not keep a stopped node alive, holding its port and its
/// jobs' lock. Past `limit`, the process exits with status 1.
struct ShutdownDeadline: Service {
    let limit: Duration
    let logger: Logger

    func run() async throws {
        // Returns when the node is asked to stop; thrown only when the task is cancelled.
        do { try await gracefulShutdown() } catch { return }
        let limit = self.limit
        let logger = self.logger
        // A thread of its own: the tasks that hold the stop up may hold Swift's shared threads too.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: Double(limit.components.seconds))
            logger.critical("the node did not stop within its deadline; exiting", metadata: ["deadline": "\(limit)"])
            exit(1)
        }
    }
}

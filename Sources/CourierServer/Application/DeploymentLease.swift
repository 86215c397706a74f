import CourierStore
import Logging
import ServiceLifecycle
import SQLKit
import Synchronization

/// Work that must run on exactly one node of a deployment at a time (the Telegram poller and
/// sender, premium expiry, update-log pruning, media garbage collection and processing), with
/// failover: on PostgreSQL the node that holds a session-level advisory lock runs `services`;
/// the others try again every `retry`, and take over within that when the holder stops or its
/// database connection dies (PostgreSQL releases the lock with the session). On SQLite there is
/// only one node, and it runs them.
struct DeploymentLease: Service {
    let engine: any DatabaseEngine
    let services: [any Service]
    var retry: Duration = .seconds(5)
    let logger: Logger

    /// "Cour" as a number; with the schema's hash as the second key, one lock per deployment (two
    /// deployments in two schemas of one database, as the tests run, do not share it).
    static let lockClass: Int32 = 0x436F_7572

    func run() async throws {
        guard engine.kind == .postgres else {
            try await runServices()
            return
        }
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await holdLeaseAndRun()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("deployment jobs stopped; trying to take them over again", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: retry) }
        }
    }

    /// On one connection for as long as it holds the lock: takes it (or returns at once when
    /// another node has it), runs the services, and checks every `retry`, from another connection,
    /// that PostgreSQL still counts the lock as this session's. A lock lost (the session was
    /// terminated, the database restarted, the check does not answer within `retry`) stops the
    /// services at once: two nodes must never run them together, and a query on a connection that
    /// died without closing may never return, so nothing here waits on that connection unbounded.
    private func holdLeaseAndRun() async throws {
        let key = Self.lockClass
        let retry = self.retry
        let engine = self.engine
        try await engine.read { sql in
            guard let row = try await sql.raw(
                "SELECT pg_try_advisory_lock(\(bind: key), hashtext(current_schema())) AS held, pg_backend_pid() AS pid"
            ).first(), try row.decode(column: "held", as: Bool.self) else { return }
            let pid = try row.decode(column: "pid", as: Int32.self)
            logger.info("this node runs the deployment's jobs")
            let ended = Mutex(false)
            let jobs = Task {
                defer { ended.withLock { $0 = true } }
                try await runServices()
            }
            var failure: (any Error)?
            do {
                while !ended.withLock({ $0 }) {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: retry) }
                    let held = try await withDeadline(retry) {
                        try await engine.read { check in
                            try await check.raw("SELECT 1 AS held FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = \(bind: pid)").first() != nil
                        }
                    }
                    guard held else { throw LeaseLost() }
                }
            } catch {
                failure = error
            }
            jobs.cancel()
            do {
                try await withDeadline(.seconds(10)) { try await jobs.value }
            } catch is DeadlineExceeded {
                logger.error("the deployment's jobs did not stop within 10 s of losing the lease")
            } catch {
                if failure == nil { failure = error }
            }
            // Given back on this same session (a lock left on a pooled connection would keep every
            // node from the jobs); when the connection is gone, so is the lock.
            _ = try? await withDeadline(.seconds(2)) {
                try await sql.raw("SELECT pg_advisory_unlock(\(bind: key), hashtext(current_schema()))").run()
            }
            logger.info("this node no longer runs the deployment's jobs")
            if let failure { throw failure }
        }
    }

    /// PostgreSQL no longer counts the lock as this node's session's.
    struct LeaseLost: Error, CustomStringConvertible {
        var description: String { "the deployment lease was lost (the database session ended)" }
    }

    private func runServices() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            try await group.waitForAll()
        }
    }
}

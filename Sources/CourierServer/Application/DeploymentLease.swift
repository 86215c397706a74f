import CourierStore
import Logging
import ServiceLifecycle
import SQLKit

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
    /// another node has it), runs the services, and checks every `retry` that the connection (and
    /// with it the lock) is still there.
    private func holdLeaseAndRun() async throws {
        let key = Self.lockClass
        let retry = self.retry
        try await engine.read { sql in
            let held = try await sql.raw("SELECT pg_try_advisory_lock(\(bind: key), hashtext(current_schema())) AS held").first()?.decode(column: "held", as: Bool.self) ?? false
            guard held else { return }
            logger.info("this node runs the deployment's jobs")
            let outcome: Result<Void, any Error>
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await runServices() }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: retry)
                            try await sql.raw("SELECT 1").run()
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            // Given back on this same session (a lock left on a pooled connection would keep every
            // node from the jobs), also when this task was cancelled (hence a task of its own);
            // when the connection is gone, so is the lock.
            await Task {
                _ = try? await sql.raw("SELECT pg_advisory_unlock(\(bind: key), hashtext(current_schema()))").run()
            }.value
            logger.info("this node no longer runs the deployment's jobs")
            try outcome.get()
        }
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

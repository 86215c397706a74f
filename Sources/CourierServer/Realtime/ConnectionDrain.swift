import CourierRealtime
import Logging
import ServiceLifecycle

/// Drains a node that is asked to stop (SIGTERM): no new WebSocket is admitted, `/health` answers
/// 503 so the proxy sends newcomers elsewhere, and the open sockets are closed with 1012
/// ("service restart": reconnect, to another node) spread over `spread`, so that the other nodes
/// are not hit by every client at once. Each socket closes after the frames it was handling are
/// answered. The server stops after that, or after `spread` plus `patience` in any case.
///
/// Runs outside the HTTP server in the node's service group, so that the server, the database and
/// the bus still work while the sockets drain.
public struct ConnectionDrain: Service {
    let registry: ConnectionRegistry
    let spread: Duration
    let patience: Duration
    let logger: Logger

    public init(registry: ConnectionRegistry, spread: Duration = .seconds(5), patience: Duration = .seconds(10), logger: Logger) {
        self.registry = registry
        self.spread = spread
        self.patience = patience
        self.logger = logger
    }

    public func run() async throws {
        // Returns when the node is asked to stop; thrown only when the task is cancelled.
        do { try await gracefulShutdown() } catch { return }
        let open = await registry.beginDraining()
        logger.notice("draining WebSocket connections", metadata: ["connections": "\(open.count)", "over": "\(spread)"])
        let steps = max(1, min(open.count, 50))
        let perStep = (open.count + steps - 1) / max(steps, 1)
        for (index, start) in stride(from: 0, to: open.count, by: max(perStep, 1)).enumerated() {
            if index > 0 { try? await Task.sleep(for: spread / steps) }
            open[start..<min(start + perStep, open.count)].forEach { $0.drain(.serviceRestart) }
        }
        let deadline = ContinuousClock.now + patience
        while await registry.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let left = await registry.count
        logger.notice("drained", metadata: ["still_open": "\(left)"])
    }
}

import CourierCore
import CourierRealtime
import CourierStore
import Logging
import ServiceLifecycle

/// Keeps this node's sockets within what their tokens allow, whatever the bus carried.
///
/// Every second it closes sockets whose access token expired (code 4002). Every `sessionCheck` it
/// asks the database which of the sessions behind open sockets were signed out, and closes those
/// (code 4001): sign-out normally reaches every node at once over the bus, and this is the backstop
/// for a bus message that was lost (a node that was disconnected from Redis, say).
struct ConnectionSweepService: Service {
    let registry: ConnectionRegistry
    let sessions: SessionStore
    let sessionCheck: Duration
    let logger: Logger

    func run() async throws {
        var sinceSessionCheck = Duration.zero
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await registry.closeExpired(at: .now())
            if sinceSessionCheck >= sessionCheck {
                sinceSessionCheck = .zero
                await closeSignedOut()
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            sinceSessionCheck += .seconds(1)
        }
    }

    private func closeSignedOut() async {
        do {
            let open = await registry.openSessions()
            let ended = try await sessions.ended(among: open.values.reduce(into: []) { $0.formUnion($1) }, at: .now())
            guard !ended.isEmpty else { return }
            for (userID, sessionIDs) in open {
                let mine = sessionIDs.intersection(ended)
                if !mine.isEmpty { await registry.close(SessionsEnded(userID: userID, sessionIDs: mine)) }
            }
        } catch {
            logger.warning("session check of open sockets failed", metadata: ["error": "\(error)"])
        }
    }
}

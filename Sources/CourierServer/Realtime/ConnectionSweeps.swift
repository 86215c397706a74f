import CourierCore
import CourierRealtime
import CourierStore
import Logging

/// Keeps this node's sockets within what their tokens allow, whatever the bus carried.
extension PeriodicJob {
    /// Every second, closes sockets whose access token expired (code 4002).
    static func expiredTokenSweep(_ registry: ConnectionRegistry, logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "expired token sweep", interval: .seconds(1), logger: logger) {
            await registry.closeExpired(at: .now())
        }
    }

    /// Every `interval`, asks the database which of the sessions behind open sockets were signed
    /// out, and closes those (code 4001). Sign-out normally reaches every node at once over the bus;
    /// this is the backstop for a bus message that was lost (a node cut off from Redis, say).
    static func signedOutSessionCheck(_ registry: ConnectionRegistry, sessions: SessionStore, interval: Duration, logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "session check of open sockets", interval: interval, logger: logger) {
            let open = await registry.openSessions()
            let ended = try await sessions.ended(among: open.values.reduce(into: []) { $0.formUnion($1) }, at: .now())
            guard !ended.isEmpty else { return }
            for (userID, sessionIDs) in open {
                let mine = sessionIDs.intersection(ended)
                if !mine.isEmpty { await registry.close(SessionsEnded(userID: userID, sessionIDs: mine)) }
            }
        }
    }

    /// Keeps this node's devices online in a shared presence directory and announces offline the
    /// people of a node that died; nil when the directory is this node's own (nothing expires).
    static func presenceUpkeep(_ presence: PresenceService, logger: Logger) -> PeriodicJob? {
        presence.directory.upkeepInterval.map { interval in
            PeriodicJob(name: "presence upkeep", interval: interval, logger: logger) { try await presence.upkeep() }
        }
    }
}

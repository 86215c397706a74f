import Hummingbird
import Logging
import Synchronization

/// An upgrade the router accepted: the request it came with and its logger (whose request id
/// names the connection in every line).
struct WebSocketUpgrade: Sendable {
    let request: Request
    let logger: Logger
}

/// Where the router's `/ws` route leaves an accepted upgrade for the connection it came on.
///
/// `HTTPAndWebSocketChannel` gives each upgrade request a context with a fresh slot, runs the
/// router, and takes what the route left: an accepted upgrade makes the connection a WebSocket,
/// anything else is answered with the router's response. The slot holds the request, never the
/// context (a context holding itself through its slot would never be freed, which is how
/// Hummingbird's own `router.ws` kept every closed connection).
final class WebSocketUpgradeSlot: Sendable {
    private let upgrade = Mutex<WebSocketUpgrade?>(nil)

    init() {}

    /// Marks the request's upgrade as accepted.
    func accept(_ upgrade: WebSocketUpgrade) {
        self.upgrade.withLock { $0 = upgrade }
    }

    /// The accepted upgrade, once; nil when the route did not accept one.
    func take() -> WebSocketUpgrade? {
        upgrade.withLock { upgrade in
            defer { upgrade = nil }
            return upgrade
        }
    }
}

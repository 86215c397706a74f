import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// Where Hummingbird keeps the WebSocket handler of an accepted upgrade, for one request, and
/// lets it go when the connection closes.
///
/// Hummingbird's `router.ws` stores the handler together with a copy of the request context, in
/// the context's own `webSocket` reference: the context holds the box that holds the context, a
/// cycle nothing breaks. Every WebSocket connection ever opened stayed allocated with its channel,
/// receive buffer and logger (about 4.5 KB each, found with heaptrack after thousands of closed
/// sockets). The slot creates the box only when the router asks for it (an upgrade request) and
/// drops it when the connection closes (`AppRequestContext.releaseWebSocketHandlerOnClose`), by
/// which time Hummingbird has long read it.
final class WebSocketUpgradeSlot: Sendable {
    private enum State {
        case empty
        case holding(WebSocketHandlerReference<AppRequestContext>)
        /// The connection closed: anything stored from now on goes into a box nobody keeps.
        case released
    }

    private let state = Mutex(State.empty)

    init() {}

    /// The box Hummingbird stores the handler in and reads it back from (the same one every time
    /// until the slot is released).
    var reference: WebSocketHandlerReference<AppRequestContext> {
        state.withLock { state in
            switch state {
            case .empty:
                let reference = WebSocketHandlerReference<AppRequestContext>()
                state = .holding(reference)
                return reference
            case .holding(let reference):
                return reference
            case .released:
                return WebSocketHandlerReference<AppRequestContext>()
            }
        }
    }

    /// Drops the box, and with it the handler and the copy of the context it holds.
    func release() {
        state.withLock { $0 = .released }
    }

    /// Whether the box is held (tests).
    var isHolding: Bool {
        state.withLock { if case .holding = $0 { true } else { false } }
    }
}

extension Router where Context == AppRequestContext {
    /// `router.ws`, without its leak: an accepted upgrade releases Hummingbird's stored handler
    /// when its connection closes (see `WebSocketUpgradeSlot`). Every WebSocket route uses this.
    func webSocket(
        _ path: RouterPath,
        shouldUpgrade: @Sendable @escaping (Request, AppRequestContext) async throws -> RouterShouldUpgrade,
        onUpgrade handler: @escaping WebSocketDataHandler<WebSocketRouterContext<AppRequestContext>>
    ) {
        ws(path, shouldUpgrade: { request, context in
            let answer = try await shouldUpgrade(request, context)
            if case .upgrade = answer { context.releaseWebSocketHandlerOnClose() }
            return answer
        }, onUpgrade: handler)
    }
}

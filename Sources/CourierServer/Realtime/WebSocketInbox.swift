import DequeModule
import NIOCore
import Synchronization

/// A client message as the gateway sees it.
enum ClientMessage: Sendable {
    case text(String)
    /// Courier speaks JSON text; a binary message is answered with an error.
    case binary
}

/// Hands a socket's messages to its session one at a time, in order, in a task that lives only
/// while there is something to handle.
///
/// The socket's `WebSocketReader` puts messages in on its event loop; the first one to wait starts
/// a task that handles what waits and ends when nothing does. So an idle socket has no task (a
/// Swift task keeps the memory of its deepest call for as long as it lives). While the session is
/// behind by `pauseAt` messages the socket stops reading (its `ReadPause`, shared with the
/// reader), and TCP holds the client back.
final class WebSocketInbox: Sendable {
    private struct State {
        var waiting = Deque<ClientMessage>()
        var handler: (@Sendable (ClientMessage) async -> Void)?
        /// A task is handling what waits.
        var handling = false
        /// Reading was stopped for the backlog; it starts again once the backlog is handled.
        var paused = false
        var finished = false
        /// Called once nothing waits and nothing is being handled (`afterWaiting`).
        var whenIdle: (@Sendable () -> Void)?
    }

    /// Messages waiting at which the socket stops reading.
    static let pauseAt = 16

    private let state = Mutex(State())
    let readPause: ReadPause

    init(channel: any Channel) {
        self.readPause = ReadPause(channel: channel)
    }

    /// Starts handing messages to `handler`, those that came before it first.
    func attach(_ handler: @escaping @Sendable (ClientMessage) async -> Void) {
        let start = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.handler = handler
            return Self.claimHandling(&state)
        }
        if start { startHandling() }
    }

    /// Called on the socket's event loop for each whole message.
    func receive(_ message: ClientMessage) {
        let (start, pause) = state.withLock { state -> (Bool, Bool) in
            guard !state.finished else { return (false, false) }
            state.waiting.append(message)
            var pause = false
            if state.waiting.count >= Self.pauseAt, !state.paused {
                state.paused = true
                pause = true
            }
            return (Self.claimHandling(&state), pause)
        }
        if pause { readPause.hold(.backlog) }
        if start { startHandling() }
    }

    /// Calls `action` once the messages that wait now are handled (at once when none waits).
    /// Never called when the socket closes first.
    func afterWaiting(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            guard state.handling || !state.waiting.isEmpty else { return true }
            state.whenIdle = action
            return false
        }
        if now { action() }
    }

    /// The socket closed: what still waits is dropped.
    func finish() {
        state.withLock { state in
            state.finished = true
            state.waiting.removeAll()
            state.handler = nil
            state.whenIdle = nil
        }
    }

    /// Whether a task should start now (and from now on, one is handling).
    private static func claimHandling(_ state: inout State) -> Bool {
        guard state.handler != nil, !state.handling, !state.waiting.isEmpty else { return false }
        state.handling = true
        return true
    }

    private func startHandling() {
        Task { await self.handleWaiting() }
    }

    private func handleWaiting() async {
        while let (message, handler) = next() {
            await handler(message)
        }
    }

    /// The next message to handle, or nil (and no task handles any more) when none waits.
    private func next() -> (ClientMessage, @Sendable (ClientMessage) async -> Void)? {
        let (next, resume, whenIdle) = state.withLock { state -> ((ClientMessage, @Sendable (ClientMessage) async -> Void)?, Bool, (@Sendable () -> Void)?) in
            if let handler = state.handler, let message = state.waiting.popFirst() { return ((message, handler), false, nil) }
            state.handling = false
            let resume = state.paused && !state.finished
            state.paused = false
            defer { state.whenIdle = nil }
            return (nil, resume, state.whenIdle)
        }
        whenIdle?()
        if resume { readPause.release(.backlog) }
        return next
    }
}

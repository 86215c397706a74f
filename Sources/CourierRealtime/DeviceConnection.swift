import CourierCore
import DequeModule
import Foundation
import Synchronization

/// One open WebSocket of one device, as the fan-out sees it: a bounded queue of frames to send.
///
/// Frames are queued without waiting, so a slow device never slows the fan-out to others. When a
/// device does not keep up and its queue is full, the queue is closed and the connection ends with
/// ``ConnectionCloseReason/overflow``; the device reconnects and catches up from its positions.
///
/// The socket's writer is not a task: it is woken (`attachWriter`) when frames wait and none are
/// being written, and takes them one by one (`takeFrame`) on the socket's own thread while the
/// socket takes more. An idle connection then costs no task, and a frame one thread hop fewer.
public final class DeviceConnection: Sendable, Identifiable {
    public let id = UUID.random()
    public let userID: UUID
    /// The device session whose access token opened the connection: signing it out closes it.
    public let sessionID: UUID
    private let state = Mutex(State())

    private struct State {
        /// Frames to write, in order, not yet taken by the writer.
        var pending = Deque<OutgoingFrame>()
        /// Wakes the writer; nil before it is attached and once the connection ended.
        var wakeWriter: (@Sendable () -> Void)?
        /// Whether the writer was woken and has not yet found the queue empty: no need to wake it.
        var writerAwake = false
        /// Set when the connection ended (`finish`): nothing is queued any more.
        var finished = false
        /// The task waiting in `waitUntilWritten`.
        var writtenWaiter: CheckedContinuation<Void, Never>?
        var closeReason: ConnectionCloseReason?
        /// What `close` starts (the close frame, the cut after its grace); nil once the connection ended.
        var onClose: (@Sendable (ConnectionCloseReason) -> Void)?
        /// While resuming, live frames wait here so that missed history goes out first.
        var held: [OutgoingFrame]?
        /// Per stream (a chat, or the person's own log), the newest position a catch-up sent. Every
        /// update up to it was committed when the log was read (a stream's updates commit in `pts`
        /// order), so a live update at or below it is a duplicate.
        var resumedUpTo: [UUID: Int64] = [:]
        /// Whether a resume began: from then on only the resume releases held frames.
        var resumeStarted = false
        /// Client frames being handled now; a draining connection closes when none is left.
        var handling = 0
        /// Set when the node drains: the close waiting for the frames in hand to be answered.
        var drainReason: ConnectionCloseReason?
    }

    /// A frame with, for an update of the log, its position.
    public struct OutgoingFrame: Sendable {
        public let text: String
        public let position: UpdatePosition?
    }

    /// How long a connection that overflowed has to drain before it is cut.
    private let overflowGrace: Duration

    /// Frames the queue, and the frames held back during a catch-up, may each hold.
    private let queueLimit: Int

    public init(userID: UUID, sessionID: UUID, queueLimit: Int, overflowGrace: Duration = .seconds(30)) {
        self.overflowGrace = overflowGrace
        self.queueLimit = queueLimit
        self.userID = userID
        self.sessionID = sessionID
    }

    /// Why the server ends this connection, once it does: the close frame the client gets says it.
    public var closeReason: ConnectionCloseReason? { state.withLock { $0.closeReason } }

    /// Ends the connection for `reason`: nothing more is queued; the frames queued already are
    /// written, then the close frame with the reason (`onClose`). The first reason given is the one
    /// sent.
    public func close(_ reason: ConnectionCloseReason) {
        let (onClose, written) = state.withLock { state -> ((@Sendable (ConnectionCloseReason) -> Void)?, CheckedContinuation<Void, Never>?) in
            guard state.closeReason == nil else { return (nil, nil) }
            state.closeReason = reason
            defer { state.onClose = nil }
            return (state.onClose, Self.takeWrittenWaiter(&state))
        }
        written?.resume()
        onClose?(reason)
    }

    /// What ends the connection once the server closes it: `action` is called once, with the
    /// reason, at the first `close` (at once when that came before).
    public func onClose(_ action: @escaping @Sendable (ConnectionCloseReason) -> Void) {
        let closedFor = state.withLock { state -> ConnectionCloseReason? in
            guard let reason = state.closeReason else {
                if !state.finished { state.onClose = action }
                return nil
            }
            return state.finished ? nil : reason
        }
        if let closedFor { action(closedFor) }
    }

    /// Returns true once the connection was closed (`close`) and every frame queued before was
    /// handed to the socket by the writer, so that the close frame goes out after them; false when
    /// the connection ended first (`finish`: the socket is gone) or the task is cancelled. One
    /// waiter at a time.
    public func waitUntilWritten() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if Self.isWritten(state) || state.finished || Task.isCancelled { return true }
                    precondition(state.writtenWaiter == nil, "one waiter at a time")
                    state.writtenWaiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            return state.withLock { !$0.finished && $0.closeReason != nil } && !Task.isCancelled
        } onCancel: {
            state.withLock { state in
                defer { state.writtenWaiter = nil }
                return state.writtenWaiter
            }?.resume()
        }
    }

    private static func isWritten(_ state: State) -> Bool {
        state.closeReason != nil && state.pending.isEmpty && !state.writerAwake
    }

    private static func takeWrittenWaiter(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        guard isWritten(state) else { return nil }
        defer { state.writtenWaiter = nil }
        return state.writtenWaiter
    }

    /// Gives the connection its writer: `wake` is called (outside any lock, on the thread that
    /// queued) when frames wait and the writer is not awake already; the writer then calls
    /// `takeFrame` until it returns none, or stops while the socket cannot take more and calls it
    /// again when it can. Frames queued before are written at once.
    public func attachWriter(_ wake: @escaping @Sendable () -> Void) {
        let wakeNow = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.wakeWriter = wake
            guard !state.pending.isEmpty, !state.writerAwake else { return false }
            state.writerAwake = true
            return true
        }
        if wakeNow { wake() }
    }

    /// The oldest frame waiting, for the writer, which is awake until this returns nil. Frames stay
    /// here (counted against the queue's limit) until the socket can take them: one that stopped
    /// reading holds at most the queue, shared with the other recipients, not a copy per socket.
    public func takeFrame() -> OutgoingFrame? {
        let (frame, written) = state.withLock { state -> (OutgoingFrame?, CheckedContinuation<Void, Never>?) in
            if let frame = state.pending.popFirst() { return (frame, nil) }
            state.writerAwake = false
            return (nil, Self.takeWrittenWaiter(&state))
        }
        written?.resume()
        return frame
    }

    /// Starts handling a client frame. False once the connection is draining: the frame is left
    /// unanswered (the client sends it again after reconnecting).
    public func beginHandling() -> Bool {
        state.withLock { state in
            guard state.drainReason == nil else { return false }
            state.handling += 1
            return true
        }
    }

    /// A client frame was handled (its ack queued). The last one of a draining connection closes it.
    public func endHandling() {
        let close = state.withLock { state -> ConnectionCloseReason? in
            state.handling -= 1
            return state.handling == 0 ? state.drainReason : nil
        }
        if let close { self.close(close) }
    }

    /// Ends the connection for `reason` once the client frames in hand are answered (their acks go
    /// out before the close); frames arriving meanwhile are not handled.
    public func drain(_ reason: ConnectionCloseReason) {
        let now = state.withLock { state -> Bool in
            if state.drainReason == nil { state.drainReason = reason }
            return state.handling == 0
        }
        if now { close(reason) }
    }

    /// Queues a live frame: held back while the connection is resuming, dropped when a resume
    /// already sent it.
    public func enqueue(_ text: String, position: UpdatePosition? = nil) {
        enum Decision { case send, held, drop, overflow }
        let frame = OutgoingFrame(text: text, position: position)
        let decision = state.withLock { state -> Decision in
            if let position, let sent = state.resumedUpTo[position.stream], position.pts <= sent { return .drop }
            guard state.held != nil else { return .send }
            // Held frames count against the same limit as the queue: a device that cannot take
            // them is as far behind as one whose queue overflowed.
            guard state.held!.count < queueLimit else { return .overflow }
            state.held!.append(frame)
            return .held
        }
        switch decision {
        case .send: send(frame)
        case .overflow: close(.overflow(grace: overflowGrace))
        case .held, .drop: break
        }
    }

    /// Queues a frame ahead of held live traffic (replies, resumed history).
    public func send(_ text: String, position: UpdatePosition? = nil) {
        send(OutgoingFrame(text: text, position: position))
    }

    /// Starts holding live frames back.
    public func holdLiveFrames() {
        state.withLock { if $0.held == nil { $0.held = [] } }
    }

    /// Holds live frames for a resume that is starting now.
    public func beginResume() {
        state.withLock { state in
            state.resumeStarted = true
            if state.held == nil { state.held = [] }
        }
    }

    /// Lets held live frames go when the client announced a resume but never sent it.
    public func releaseUnlessResuming() {
        let resuming = state.withLock { $0.resumeStarted }
        if !resuming { releaseLiveFrames(resumedUpTo: [:]) }
    }

    /// Stops holding live frames and queues those held, except updates at or below
    /// the position the resume sent for their stream (and from now on drops such frames).
    public func releaseLiveFrames(resumedUpTo sent: [UUID: Int64]) {
        let held = state.withLock { state -> [OutgoingFrame] in
            state.resumedUpTo.merge(sent) { max($0, $1) }
            defer { state.held = nil }
            return (state.held ?? []).filter { frame in
                guard let position = frame.position, let upTo = state.resumedUpTo[position.stream] else { return true }
                return position.pts > upTo
            }
        }
        held.forEach(send)
    }

    /// Ends the queue when the connection ended: what waits is dropped, nothing more is queued,
    /// and the writer is let go.
    public func finish() {
        state.withLock { state in
            state.finished = true
            state.pending = []
            state.wakeWriter = nil
            state.onClose = nil
            state.writerAwake = false
            defer { state.writtenWaiter = nil }
            return state.writtenWaiter
        }?.resume()
    }

    private func send(_ frame: OutgoingFrame) {
        enum Outcome { case queued, dropped, wake(@Sendable () -> Void), overflow }
        let outcome = state.withLock { state -> Outcome in
            // Once closed, the frames queued before go out, then the close frame; nothing after.
            guard state.closeReason == nil, !state.finished else { return .dropped }
            guard state.pending.count < queueLimit else { return .overflow }
            state.pending.append(frame)
            guard !state.writerAwake, let wake = state.wakeWriter else { return .queued }
            state.writerAwake = true
            return .wake(wake)
        }
        switch outcome {
        case .queued, .dropped: break
        case .wake(let wake): wake()
        case .overflow: close(.overflow(grace: overflowGrace))
        }
    }
}

import Foundation
import Synchronization

/// One open WebSocket of one device, as the fan-out sees it: a bounded queue of frames to send.
///
/// Frames are queued without waiting, so a slow device never slows the fan-out to others. When a
/// device does not keep up and its queue is full, the queue is closed and the connection ends with
/// ``ConnectionCloseReason/overflow``; the device reconnects and resumes from its last `seq`.
public final class DeviceConnection: Sendable, Identifiable {
    public let id = UUID()
    public let userID: UUID
    /// The device session whose access token opened the connection: signing it out closes it.
    public let sessionID: UUID
    /// Frames to write, in order; ends when the connection closes or overflows.
    public let outgoing: AsyncStream<OutgoingFrame>
    private let continuation: AsyncStream<OutgoingFrame>.Continuation
    private let state = Mutex(State())

    private struct State {
        var closeReason: ConnectionCloseReason?
        /// While resuming, live frames wait here so that missed history goes out first.
        var held: [OutgoingFrame]?
        /// Per chat, the newest `seq` a resume sent from history. Every message up to it was
        /// committed when history was read (a chat's messages commit in `seq` order), so a live
        /// `new_message` at or below it is a duplicate.
        var resumedUpTo: [UUID: Int64] = [:]
        /// The `seq`s of recent `new_message` frames sent, so that a resume does not send them again
        /// (live traffic starts as soon as the socket opens, before the client's `resume` arrives).
        var recentlySent: [UUID: Set<Int64>] = [:]
        var recentlySentCount = 0
        /// Whether a resume began: from then on only the resume releases held frames.
        var resumeStarted = false
    }

    /// How many sent `seq`s a connection remembers for resume; past it, the memory starts over.
    static let recentlySentLimit = 4096

    /// A frame with, for `new_message`, its position.
    public struct OutgoingFrame: Sendable {
        public let text: String
        public let sequence: ChatSequence?
    }

    public init(userID: UUID, sessionID: UUID, queueLimit: Int) {
        self.userID = userID
        self.sessionID = sessionID
        (outgoing, continuation) = AsyncStream.makeStream(of: OutgoingFrame.self, bufferingPolicy: .bufferingOldest(queueLimit))
    }

    /// Why the server ends this connection, once it does: the writer sends it as the close frame.
    public var closeReason: ConnectionCloseReason? { state.withLock { $0.closeReason } }

    /// Ends the connection for `reason`: nothing more is queued, the writer stops after the frames
    /// already queued and closes with the reason. The first reason given is the one sent.
    public func close(_ reason: ConnectionCloseReason) {
        state.withLock { if $0.closeReason == nil { $0.closeReason = reason } }
        continuation.finish()
    }

    /// Queues a live frame: held back while the connection is resuming, dropped when a resume
    /// already sent it.
    public func enqueue(_ text: String, sequence: ChatSequence? = nil) {
        let frame = OutgoingFrame(text: text, sequence: sequence)
        let sendNow = state.withLock { state -> Bool in
            if let sequence, let sent = state.resumedUpTo[sequence.chatID], sequence.seq <= sent { return false }
            guard state.held != nil else { return true }
            state.held!.append(frame)
            return false
        }
        if sendNow { send(frame) }
    }

    /// Queues a frame ahead of held live traffic (replies, resumed history).
    public func send(_ text: String, sequence: ChatSequence? = nil) {
        send(OutgoingFrame(text: text, sequence: sequence))
    }

    /// Whether the `new_message` of `sequence` already went out on this connection recently.
    public func hasSent(_ sequence: ChatSequence) -> Bool {
        state.withLock { $0.recentlySent[sequence.chatID]?.contains(sequence.seq) ?? false }
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

    /// Stops holding live frames and queues those held, except `new_message` frames at or below
    /// the `seq` the resume sent for their chat (and from now on drops such frames).
    public func releaseLiveFrames(resumedUpTo sent: [UUID: Int64]) {
        let held = state.withLock { state -> [OutgoingFrame] in
            state.resumedUpTo.merge(sent) { max($0, $1) }
            defer { state.held = nil }
            return (state.held ?? []).filter { frame in
                guard let sequence = frame.sequence, let upTo = state.resumedUpTo[sequence.chatID] else { return true }
                return sequence.seq > upTo
            }
        }
        held.forEach(send)
    }

    /// Ends the queue; the writer stops after the frames already queued.
    public func finish() { continuation.finish() }

    private func send(_ frame: OutgoingFrame) {
        if let sequence = frame.sequence {
            state.withLock { state in
                if state.recentlySentCount >= Self.recentlySentLimit {
                    state.recentlySent = [:]
                    state.recentlySentCount = 0
                }
                if state.recentlySent[sequence.chatID, default: []].insert(sequence.seq).inserted { state.recentlySentCount += 1 }
            }
        }
        if case .dropped = continuation.yield(frame) {
            close(.overflow)
        }
    }
}

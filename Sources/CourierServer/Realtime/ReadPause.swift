import NIOCore
import Synchronization

/// Stops reading a socket while any of its reasons holds, and reads again once none does.
///
/// Two parts of a WebSocket stop reading for reasons of their own: its inbox while the session is
/// behind, its reader while the client floods control frames. With one switch each, the first to
/// let go would start reading under the other's feet; here reading resumes only when both let go.
///
/// Callable from any thread: the socket's `autoRead` is set on its event loop, to what the reasons
/// say at that moment, so two changes that reach the loop out of order still leave it right.
final class ReadPause: Sendable {
    /// Why a socket is not read.
    struct Reason: OptionSet, Sendable {
        let rawValue: UInt8
        /// The session is behind by `WebSocketInbox.pauseAt` messages.
        static let backlog = Reason(rawValue: 1 << 0)
        /// The client sent control frames faster than `ControlFrameBudget` allows.
        static let controlFrames = Reason(rawValue: 1 << 1)
    }

    private let reasons = Mutex<Reason>([])
    private let channel: any Channel

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Whether no reason holds (the socket is read).
    var isReading: Bool { reasons.withLock { $0.isEmpty } }

    /// Stops reading for `reason` (until `release(reason)`).
    func hold(_ reason: Reason) {
        let changed = reasons.withLock { reasons in
            defer { reasons.insert(reason) }
            return reasons.isEmpty
        }
        if changed { apply() }
    }

    /// Lets go of `reason`; reading resumes if no other reason holds.
    func release(_ reason: Reason) {
        let changed = reasons.withLock { reasons in
            guard reasons.contains(reason) else { return false }
            reasons.remove(reason)
            return reasons.isEmpty
        }
        if changed { apply() }
    }

    private func apply() {
        if channel.eventLoop.inEventLoop {
            applyOnLoop()
        } else {
            channel.eventLoop.execute { self.applyOnLoop() }
        }
    }

    private func applyOnLoop() {
        let reading = isReading
        let channel = self.channel
        channel.setOption(ChannelOptions.autoRead, value: reading).whenSuccess {
            if reading { channel.read() }
        }
    }
}

import CourierRealtime
import NIOCore
import NIOWebSocket

/// Writes a device's frames straight into its WebSocket's channel, past Hummingbird's outbound
/// writer: a delivery is one job on the channel's event loop instead of a wake-up of the
/// connection's writer task and then that job. The channel's handlers encode the frame as for any
/// other write (Courier negotiates no WebSocket extension that would transform it).
struct ChannelFrameSink: FrameSink {
    let channel: any Channel

    func write(_ text: String, written: @escaping @Sendable () -> Void) {
        let channel = self.channel
        // Always a job of its own, even on the loop: `written` must not run inside `write`.
        channel.eventLoop.execute {
            let frame = WebSocketFrame(fin: true, opcode: .text, data: channel.allocator.buffer(string: text))
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { _ in written() }
            channel.writeAndFlush(frame, promise: promise)
        }
    }
}

import CourierRealtime
import NIOCore
import NIOWebSocket

/// Writes a device's queued frames to its WebSocket, on the socket's event loop.
///
/// A fan-out queues a frame on the `DeviceConnection` from whatever thread it runs on; the first
/// frame to wait wakes this handler, which writes the frames waiting as text frames while the
/// socket takes more, and flushes once. When it cannot (a device that reads slowly: NIO's buffer
/// for the socket is past its high-water mark), the rest wait in the connection's queue, bounded
/// there and shared with the other recipients, until the socket drains.
///
/// It replaces a writer task per socket: no task waits for an idle device, and a frame goes from
/// the fan-out to the socket's thread directly, not through a task's thread first.
///
/// Once a close frame passes on its way out (the server's, or Hummingbird's own: answering the
/// client's close, a protocol error, shutdown), nothing more is written: the queue ends there.
final class FrameWriterHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let connection: DeviceConnection

    init(connection: DeviceConnection) {
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        connection.attachWriter {
            eventLoop.execute { loopBound.value.handler.writeWaitingFrames(context: loopBound.value.context) }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { writeWaitingFrames(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Nothing can be written any more: what waits goes, and the connection ends.
        connection.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection.finish()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).opcode == .connectionClose { connection.finish() }
        context.write(data, promise: promise)
    }

    /// Writes what waits while the socket takes it (a write counts against the socket's buffer at
    /// once, so `isWritable` turns false before the buffer holds much more than its high-water mark).
    private func writeWaitingFrames(context: ChannelHandlerContext) {
        var wrote = false
        defer { if wrote { context.flush() } }
        while context.channel.isWritable, let frame = connection.takeFrame() {
            let text = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: frame.text))
            context.write(wrapOutboundOut(text), promise: nil)
            wrote = true
        }
    }
}

extension FrameWriterHandler {
    /// Adds the writer (and the heartbeat) of `connection` to the WebSocket on `channel`, right
    /// after its frame decoder: they see the client's frames, and what they write goes through the
    /// frame encoder.
    static func install(
        for connection: DeviceConnection, on channel: any Channel, pingInterval: Duration, onSilence: @escaping @Sendable () -> Void
    ) async throws {
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            let heartbeat = HeartbeatHandler(interval: pingInterval, onSilence: onSilence)
            try pipeline.addHandler(heartbeat, position: .after(decoder))
            try pipeline.addHandler(FrameWriterHandler(connection: connection), position: .after(heartbeat))
        }.get()
    }
}

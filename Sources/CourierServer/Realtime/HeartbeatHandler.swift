import NIOCore
import NIOWebSocket

/// Pings a WebSocket every `interval` from its event loop, and calls `onSilence` once when a ping
/// went a whole interval without a pong (the device is gone, or hung).
///
/// It stands in for Hummingbird's auto-ping, which runs a Swift task per connection: a task keeps
/// the memory of its deepest call for as long as it lives, and an idle socket should cost little.
/// An event-loop timer costs a scheduled closure. Only the pong that answers the ping counts (it
/// carries the ping's random payload back): unsolicited pongs, which a client can send without
/// reading anything, keep no socket open. The frames go on to the next handler as they came.
final class HeartbeatHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let interval: TimeAmount
    private let onSilence: @Sendable () -> Void
    private var timer: RepeatedTask?
    /// The payload of the ping not yet answered.
    private var awaitedPong: UInt64?

    init(interval: Duration, onSilence: @escaping @Sendable () -> Void) {
        self.interval = TimeAmount(interval)
        self.onSilence = onSilence
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            loopBound.value.handler.beat(context: loopBound.value.context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    /// No ping after a close frame: the connection is ending.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).opcode == .connectionClose { stop() }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.opcode == .pong, let awaited = awaitedPong {
            let payload = frame.unmaskedData
            if payload.readableBytes == 8, payload.getInteger(at: payload.readerIndex, as: UInt64.self) == awaited { awaitedPong = nil }
        }
        context.fireChannelRead(data)
    }

    private func beat(context: ChannelHandlerContext) {
        guard awaitedPong == nil else {
            stop()
            onSilence()
            return
        }
        let payload = UInt64.random(in: .min ... .max)
        awaitedPong = payload
        var data = context.channel.allocator.buffer(capacity: 8)
        data.writeInteger(payload)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: data)), promise: nil)
    }

    private func stop() {
        timer?.cancel()
        timer = nil
    }
}

import NIOCore
import NIOWebSocket

/// Pings a WebSocket every `interval` from its event loop, and calls `onSilence` once when a ping
/// went a whole interval without a pong (the device is gone, or hung).
///
/// It stands in for Hummingbird's auto-ping, which runs a Swift task per connection: a task keeps
/// the memory of its deepest call for as long as it lives, and an idle socket should cost little.
/// An event-loop timer costs a scheduled closure. Any pong counts, solicited or not (RFC 6455
/// allows an unsolicited pong as a heartbeat); the frames go on to the next handler as they came.
final class HeartbeatHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let interval: TimeAmount
    private let onSilence: @Sendable () -> Void
    private var timer: RepeatedTask?
    private var awaitingPong = false

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

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if unwrapInboundIn(data).opcode == .pong { awaitingPong = false }
        context.fireChannelRead(data)
    }

    private func beat(context: ChannelHandlerContext) {
        guard !awaitingPong else {
            stop()
            onSilence()
            return
        }
        awaitingPong = true
        let ping = WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0))
        context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
    }

    private func stop() {
        timer?.cancel()
        timer = nil
    }
}

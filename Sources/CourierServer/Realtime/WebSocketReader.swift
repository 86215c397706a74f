import CourierRealtime
import NIOCore
import NIOWebSocket

/// Reads a client's WebSocket frames on the socket's event loop: joins fragments into messages
/// for the connection's `WebSocketInbox`, answers pings, and carries out the closing handshake.
///
/// Pings and pongs are held to a `ControlFrameBudget`: over it, the socket is not read until the
/// budget refills, and a client that sends `ControlFrameBudget.burst` more while it waits is closed
/// with 1008 (what was read with the frame that went over still comes through the decoder, and a
/// client that sends that many is flooding). A ping is answered at once when it is within the
/// budget and the socket can take the pong; otherwise it waits, and only the latest waiting one is
/// answered (RFC 6455 5.5.3), once reading resumes or the socket drains. A message may come in at
/// most `maxFragments` fragments (1008 after): empty fragments would otherwise pass every limit,
/// and one client sending them kept a core busy.
///
/// The last handler of an upgraded socket (after the frame decoder, the heartbeat and the frame
/// writer). With it, an open socket is NIO handlers only, not a task waiting for the next frame.
///
/// Closing: a client's close (or its half-close) is answered once the messages it sent before are
/// handled, with its code (1002 for a code no endpoint may send), and the socket closed when the
/// answer is written or after `closeGrace`; after the server's own close (written by anyone, seen
/// passing out here) the client's answer closes the socket. Protocol errors close with 1002 (an unmasked frame, a continuation without a start, a
/// new message inside a fragmented one) or 1009 (a message over `maxMessageBytes`).
final class WebSocketReader: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// How long the last close frame may wait to be written before the socket is closed anyway.
    static let closeGrace = TimeAmount.seconds(2)
    /// Fragments a message may come in (a 64 KiB message in 512-byte pieces; clients send whole
    /// messages, or a few large fragments).
    static let maxFragments = 128

    private let inbox: WebSocketInbox
    private let maxMessageBytes: Int
    private var controlFrames = ControlFrameBudget()
    /// The payload of the latest ping not answered yet.
    private var waitingPing: ByteBuffer?
    /// Resumes reading once the control frame budget refilled; nil while the budget holds.
    private var budgetRefill: Scheduled<Void>?
    /// Control frames that came while reading waited for the budget.
    private var framesWhilePaused = 0
    /// The fragments of a message not yet whole, and whether it is text.
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var fragmentCount = 0
    private var sentClose = false
    private var receivedClose = false

    init(inbox: WebSocketInbox, maxMessageBytes: Int) {
        self.inbox = inbox
        self.maxMessageBytes = maxMessageBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // After the client's close (or a protocol error) nothing it sends counts.
        guard !receivedClose else { return }
        // RFC 6455 5.1: a server must close the connection on an unmasked client frame.
        guard frame.maskKey != nil else { return fail(.protocolError, "unmasked frame", context: context) }
        // No extension is agreed, so no reserved bit may be set (RFC 6455 5.2).
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else { return fail(.protocolError, "reserved bits set", context: context) }
        switch frame.opcode {
        case .connectionClose:
            receivedClose(frame, context: context)
        case .ping:
            waitingPing = frame.unmaskedData
            if spendControlFrame(context: context) { answerWaitingPing(context: context) }
        case .pong:
            // The heartbeat, before this handler, has seen it; it counts against the budget all the same.
            _ = spendControlFrame(context: context)
        case .text, .binary:
            guard fragments == nil else { return fail(.protocolError, "a new message inside a fragmented one", context: context) }
            if frame.fin {
                deliver(frame.unmaskedData, isText: frame.opcode == .text)
            } else {
                fragments = frame.unmaskedData
                fragmentsAreText = frame.opcode == .text
                fragmentCount = 1
            }
        case .continuation:
            guard var collected = fragments else { return fail(.protocolError, "a continuation without a start", context: context) }
            fragmentCount += 1
            guard frame.fin || fragmentCount < Self.maxFragments else {
                return fail(.policyViolation, "too many fragments", context: context)
            }
            var part = frame.unmaskedData
            guard collected.readableBytes + part.readableBytes <= maxMessageBytes else {
                return fail(.messageTooLarge, "message too large", context: context)
            }
            fragments = nil
            collected.writeBuffer(&part)
            if frame.fin {
                deliver(collected, isText: fragmentsAreText)
            } else {
                fragments = collected
            }
        default:
            fail(.protocolError, "unknown opcode", context: context)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard unwrapOutboundIn(data).opcode == .connectionClose else { return context.write(data, promise: promise) }
        // One close frame per connection.
        guard !sentClose else {
            promise?.succeed()
            return
        }
        sentClose = true
        guard receivedClose else { return context.write(data, promise: promise) }
        // Both sides have closed: the socket goes once the frame is out, or after the grace when a
        // client that does not read leaves it unsent.
        let written = context.eventLoop.makePromise(of: Void.self)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { result in
            loopBound.value.close(promise: nil)
            promise?.completeWith(result)
        }
        let cut = context.eventLoop.scheduleTask(in: Self.closeGrace) { loopBound.value.close(promise: nil) }
        context.channel.closeFuture.whenComplete { _ in cut.cancel() }
        context.writeAndFlush(data, promise: written)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, budgetRefill == nil { answerWaitingPing(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopWaitingForTheBudget()
        inbox.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopWaitingForTheBudget()
        inbox.finish()
    }

    /// Counts a control frame; false when it is over the budget, and then the socket is not read
    /// until the budget refills.
    private func spendControlFrame(context: ChannelHandlerContext) -> Bool {
        if controlFrames.spend(now: context.eventLoop.now), budgetRefill == nil { return true }
        if budgetRefill == nil {
            inbox.readPause.hold(.controlFrames)
            waitForTheBudget(context: context)
        } else {
            framesWhilePaused += 1
            if framesWhilePaused > Int(ControlFrameBudget.burst) {
                // Not read again: the socket closes once the close frame is out (or after the grace).
                budgetRefill?.cancel()
                budgetRefill = nil
                fail(.policyViolation, "too many control frames", context: context)
            }
        }
        return false
    }

    /// Resumes reading (and answers the ping that waits) once the budget holds a token again;
    /// frames read meanwhile deepen the debt, so this waits again while it is not paid.
    private func waitForTheBudget(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        budgetRefill = context.eventLoop.scheduleTask(in: controlFrames.pause(now: context.eventLoop.now)) {
            let (handler, context) = loopBound.value
            guard handler.controlFrames.pause(now: context.eventLoop.now) == .zero else { return handler.waitForTheBudget(context: context) }
            handler.budgetRefill = nil
            handler.framesWhilePaused = 0
            handler.answerWaitingPing(context: context)
            handler.inbox.readPause.release(.controlFrames)
        }
    }

    private func stopWaitingForTheBudget() {
        budgetRefill?.cancel()
        budgetRefill = nil
        inbox.readPause.release(.controlFrames)
    }

    /// Answers the latest ping, unless the socket's buffer is full: a client that pings without
    /// reading must not grow it (the ping waits for the socket to drain), or a close went out.
    private func answerWaitingPing(context: ChannelHandlerContext) {
        guard let ping = waitingPing, !sentClose, context.channel.isWritable else { return }
        waitingPing = nil
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: ping)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Frame decoding errors were answered by NIO's protocol error handler; anything else ends
        // the connection.
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent {
            // The client ended its side (the server keeps sockets half-open for HTTP): what it sent
            // before is handled, then the connection closes.
            guard !receivedClose else { return }
            receivedClose = true
            fragments = nil
            closeAfterWaitingMessages(code: 1000, context: context)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // The server stops: the gateway's drain has closed the socket by now (its close frame
            // may still be on its way, and the gateway's grace ends it), or this one was never
            // admitted.
            if !sentClose { close(code: .unknown(ConnectionCloseReason.serviceRestart.code), reason: ConnectionCloseReason.serviceRestart.reason, context: context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func deliver(_ data: ByteBuffer, isText: Bool) {
        // After a close nothing the client sends counts.
        guard !sentClose, !receivedClose else { return }
        inbox.receive(isText ? .text(String(buffer: data)) : .binary)
    }

    private func receivedClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        receivedClose = true
        fragments = nil
        // The client answered the server's close.
        if sentClose { return context.close(promise: nil) }
        // Answered with the client's code (RFC 6455 5.5.1) once the messages it sent before are
        // handled; a code no endpoint may send is answered with 1002. The socket closes once the
        // answer is written.
        var data = frame.unmaskedData
        let code: UInt16? = switch data.readableBytes {
        case 0: nil
        case 1: 1002
        default: data.readInteger(as: UInt16.self).map { Self.mayBeSent($0) ? $0 : 1002 }
        }
        closeAfterWaitingMessages(code: code, context: context)
    }

    /// Close codes an endpoint may put in a close frame (RFC 6455 7.4).
    static func mayBeSent(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }

    /// Sends a close frame with `code` (none when nil) once the inbox has handled what waits, so
    /// that messages sent just before a close or a half-close are answered.
    private func closeAfterWaitingMessages(code: UInt16?, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        inbox.afterWaiting {
            eventLoop.execute {
                let (handler, context) = loopBound.value
                var answer = context.channel.allocator.buffer(capacity: 2)
                if let code { answer.writeInteger(code) }
                handler.write(context: context, data: handler.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: answer)), promise: nil)
            }
        }
    }

    private func fail(_ code: WebSocketErrorCode, _ reason: String, context: ChannelHandlerContext) {
        // Counts as the end of what the client says: the socket closes once the close is written.
        receivedClose = true
        fragments = nil
        close(code: code, reason: reason, context: context)
    }

    /// Sends a close frame with `code` and closes the socket once it is written; closes at once
    /// when a close went out already.
    private func close(code: WebSocketErrorCode, reason: String, context: ChannelHandlerContext) {
        guard !sentClose else { return context.close(promise: nil) }
        receivedClose = true
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        write(context: context, data: wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
    }
}

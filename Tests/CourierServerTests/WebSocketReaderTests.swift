@testable import CourierServer
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

/// `WebSocketReader` on its own: messages joined from fragments into the inbox, pings, the closing
/// handshake, protocol errors, and a socket that cannot take the last close frame.
@Suite struct WebSocketReaderTests {
    static let mask = WebSocketMaskingKey([1, 2, 3, 4])!

    /// A client frame: masked, as a client must send it.
    static func frame(_ opcode: WebSocketOpcode, fin: Bool = true, _ text: String = "", masked: Bool = true) -> WebSocketFrame {
        var data = ByteBuffer(string: text)
        guard masked else { return WebSocketFrame(fin: fin, opcode: opcode, data: data) }
        data.webSocketMask(mask)
        return WebSocketFrame(fin: fin, opcode: opcode, maskKey: mask, data: data)
    }

    private static func closeCode(_ frame: WebSocketFrame?) -> UInt16? {
        guard let frame, frame.opcode == .connectionClose else { return nil }
        var data = frame.unmaskedData
        return data.readInteger(as: UInt16.self)
    }

    /// Messages the inbox handed over, in order.
    private final class Received: Sendable {
        private let texts = Mutex<[String]>([])
        func add(_ message: ClientMessage) {
            let text: String = if case .text(let text) = message { text } else { "<binary>" }
            texts.withLock { $0.append(text) }
        }
        var all: [String] { texts.withLock { $0 } }
    }

    /// An embedded channel that is active, as a socket is.
    private static func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    private static func reader(on channel: EmbeddedChannel, maxMessageBytes: Int = 1024) throws -> Received {
        let received = Received()
        let inbox = WebSocketInbox(channel: channel)
        inbox.attach { received.add($0) }
        try channel.pipeline.syncOperations.addHandler(WebSocketReader(inbox: inbox, maxMessageBytes: maxMessageBytes))
        return received
    }

    @Test func fragmentsBecomeOneMessageAndControlFramesMayComeBetween() async throws {
        let channel = try Self.connectedChannel()
        let received = try Self.reader(on: channel)
        try channel.writeInbound(Self.frame(.text, fin: false, "hel"))
        try channel.writeInbound(Self.frame(.ping, "p"))
        try channel.writeInbound(Self.frame(.continuation, fin: true, "lo"))
        try channel.writeInbound(Self.frame(.binary, "x"))
        let pong = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(pong.opcode == .pong && String(buffer: pong.unmaskedData) == "p")
        try await waitUntil("both messages handed over") { received.all.count == 2 }
        #expect(received.all == ["hello", "<binary>"])
        #expect(channel.isActive)
    }

    @Test(arguments: [
        ("an unmasked frame", [WebSocketReaderTests.frame(.text, "hi", masked: false)], UInt16(1002)),
        ("a continuation without a start", [WebSocketReaderTests.frame(.continuation, "x")], UInt16(1002)),
        ("a message inside a fragmented one", [WebSocketReaderTests.frame(.text, fin: false, "a"), WebSocketReaderTests.frame(.text, "b")], UInt16(1002)),
        ("a reserved bit", [WebSocketFrame(fin: true, rsv1: true, opcode: .text, maskKey: WebSocketReaderTests.mask, data: ByteBuffer())], UInt16(1002)),
        ("fragments over the limit", [WebSocketReaderTests.frame(.text, fin: false, String(repeating: "a", count: 600)), WebSocketReaderTests.frame(.continuation, String(repeating: "b", count: 600))], UInt16(1009)),
    ])
    func protocolErrorsCloseWithTheirCode(what: String, frames: [WebSocketFrame], code: UInt16) async throws {
        let channel = try Self.connectedChannel()
        let received = try Self.reader(on: channel)
        for frame in frames { try channel.writeInbound(frame) }
        #expect(Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == code, "\(what)")
        #expect(!channel.isActive, "\(what): the socket is closed once the close frame is written")
        // Later frames in the same read are not handled.
        try? channel.writeInbound(Self.frame(.text, "after"))
        try await Task.sleep(for: .milliseconds(50))
        #expect(received.all.isEmpty, "\(what)")
    }

    @Test func theClientsCloseIsAnsweredWithItsCodeAndNothingAfterCounts() async throws {
        let channel = try Self.connectedChannel()
        let received = try Self.reader(on: channel)
        var close = ByteBuffer()
        close.writeInteger(UInt16(4000))
        close.webSocketMask(Self.mask)
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: Self.mask, data: close))
        channel.embeddedEventLoop.run()
        #expect(Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == 4000)
        #expect(!channel.isActive)
        #expect(received.all.isEmpty)
    }

    /// Messages a client sent just before its close, or before it shut its side, are handled
    /// before the answer goes out (a client that sends and closes gets its messages stored).
    @Test(arguments: [true, false])
    func messagesBeforeACloseOrAHalfCloseAreHandledFirst(halfClose: Bool) async throws {
        let channel = try Self.connectedChannel()
        let received = Received()
        let inbox = WebSocketInbox(channel: channel)
        inbox.attach { message in
            try? await Task.sleep(for: .milliseconds(20))
            received.add(message)
        }
        try channel.pipeline.syncOperations.addHandler(WebSocketReader(inbox: inbox, maxMessageBytes: 1024))
        try channel.writeInbound(Self.frame(.text, "one"))
        try channel.writeInbound(Self.frame(.text, "two"))
        if halfClose {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        } else {
            var close = ByteBuffer()
            close.writeInteger(UInt16(1000))
            close.webSocketMask(Self.mask)
            try channel.writeInbound(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: Self.mask, data: close))
        }
        try channel.writeInbound(Self.frame(.text, "after"))
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil, "no answer while messages wait")
        try await waitUntil("both handled") { received.all.count == 2 }
        try await waitUntil("the close answered") {
            channel.embeddedEventLoop.run()
            return !channel.isActive
        }
        #expect(received.all == ["one", "two"])
        #expect(Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == 1000)
    }

    /// Codes no endpoint may send (RFC 6455 7.4), and a one-byte payload, are answered with 1002.
    @Test(arguments: [[UInt8(0x03), 0xE7], [0x03, 0xED], [0x03]])
    func aCloseWithAnInvalidCodeIsAnsweredWith1002(payload: [UInt8]) throws {
        let channel = try Self.connectedChannel()
        _ = try Self.reader(on: channel)
        var close = ByteBuffer(bytes: payload)
        close.webSocketMask(Self.mask)
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: Self.mask, data: close))
        channel.embeddedEventLoop.run()
        #expect(Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == 1002)
        #expect(!channel.isActive)
    }

    @Test func afterTheServersCloseTheClientsAnswerEndsTheSocket() throws {
        let channel = try Self.connectedChannel()
        _ = try Self.reader(on: channel)
        var data = ByteBuffer()
        data.write(webSocketErrorCode: .unknown(4001))
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
        #expect(Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == 4001)
        #expect(channel.isActive, "waits for the client's answer")
        try channel.writeInbound(Self.frame(.connectionClose))
        #expect(!channel.isActive)
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil, "one close frame per connection")
    }

    /// A client that breaks the rules and stops reading leaves the close frame unsent: the socket
    /// is closed after the grace all the same (nothing else would: the heartbeat stops at a close).
    @Test func aCloseThatCannotBeWrittenEndsTheSocketAfterTheGrace() throws {
        let channel = try Self.connectedChannel()
        try channel.pipeline.syncOperations.addHandler(StuckWrites())
        _ = try Self.reader(on: channel)
        try channel.writeInbound(Self.frame(.continuation, "stray"))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: WebSocketReader.closeGrace)
        #expect(!channel.isActive)
    }

    /// Pings are not answered while the socket's buffer is full; once it drains, the latest is.
    @Test func pingsWaitForAWritableSocket() throws {
        let channel = try Self.connectedChannel()
        _ = try Self.reader(on: channel)
        channel.isWritable = false
        try channel.writeInbound(Self.frame(.ping, "1"))
        try channel.writeInbound(Self.frame(.ping, "2"))
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(String(buffer: try #require(try channel.readOutbound(as: WebSocketFrame.self)).unmaskedData) == "2")
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil, "one pong for the pings that waited")
        try channel.writeInbound(Self.frame(.ping, "3"))
        #expect(String(buffer: try #require(try channel.readOutbound(as: WebSocketFrame.self)).unmaskedData) == "3")
    }

    /// A client over the control frame budget is not read until the budget refills; then the
    /// latest of its pings is answered, and its messages still reach the inbox.
    @Test(arguments: [WebSocketOpcode.ping, .pong])
    func aControlFrameFloodStopsReadingUntilTheBudgetRefills(flooding: WebSocketOpcode) async throws {
        let channel = try Self.connectedChannel()
        let received = Received()
        let inbox = WebSocketInbox(channel: channel)
        inbox.attach { received.add($0) }
        try channel.pipeline.syncOperations.addHandler(WebSocketReader(inbox: inbox, maxMessageBytes: 1024))
        let burst = Int(ControlFrameBudget.burst)
        for index in 0..<burst { try channel.writeInbound(Self.frame(flooding, "\(index)")) }
        var pongs: [String] = []
        while let frame = try channel.readOutbound(as: WebSocketFrame.self) { pongs.append(String(buffer: frame.unmaskedData)) }
        #expect(pongs == (flooding == .ping ? (0..<burst).map { "\($0)" } : []))
        #expect(inbox.readPause.isReading)

        // Eleven over: read until the budget holds a token again, 12 refills later (1.5 s at 8/s).
        for index in burst..<(burst + 11) { try channel.writeInbound(Self.frame(flooding, "\(index)")) }
        #expect(!inbox.readPause.isReading, "over the budget")
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil, "nothing answered over the budget")
        try channel.writeInbound(Self.frame(.text, "still heard"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1_400))
        #expect(!inbox.readPause.isReading)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(inbox.readPause.isReading)
        let answer = try channel.readOutbound(as: WebSocketFrame.self)
        if flooding == .ping {
            #expect(answer.map { String(buffer: $0.unmaskedData) } == "\(burst + 10)", "the latest ping")
        } else {
            #expect(answer == nil)
        }
        #expect(channel.isActive)
        try await waitUntil("the message handed over") { received.all == ["still heard"] }
    }

    /// A client that goes on flooding while it is not read (more than a burst's worth came with the
    /// read that went over) is closed with 1008.
    @Test func aClientThatKeepsFloodingIsClosed() throws {
        let channel = try Self.connectedChannel()
        _ = try Self.reader(on: channel)
        let burst = Int(ControlFrameBudget.burst)
        for index in 0..<(2 * burst + 1) { try channel.writeInbound(Self.frame(.ping, "\(index)")) }
        #expect(channel.isActive, "a burst over is only paused")
        while try channel.readOutbound(as: WebSocketFrame.self) != nil {}
        try channel.writeInbound(Self.frame(.ping, "one too many"))
        #expect(Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == 1008)
        #expect(!channel.isActive)
    }

    /// A message may come in at most `maxFragments` pieces: empty fragments cost a frame each and
    /// would otherwise pass every limit.
    @Test func aMessageInTooManyFragmentsClosesWith1008() async throws {
        let channel = try Self.connectedChannel()
        let received = try Self.reader(on: channel)
        try channel.writeInbound(Self.frame(.text, fin: false, "a"))
        for _ in 0..<(WebSocketReader.maxFragments - 2) { try channel.writeInbound(Self.frame(.continuation, fin: false, "")) }
        try channel.writeInbound(Self.frame(.continuation, fin: true, "b"))
        try await waitUntil("the message of the most fragments handed over") { received.all == ["ab"] }
        #expect(channel.isActive)

        try channel.writeInbound(Self.frame(.text, fin: false, ""))
        for _ in 0..<(WebSocketReader.maxFragments - 2) { try channel.writeInbound(Self.frame(.continuation, fin: false, "")) }
        #expect(channel.isActive)
        try channel.writeInbound(Self.frame(.continuation, fin: false, ""))
        #expect(Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == 1008)
        #expect(!channel.isActive)
    }
}

/// Holds every write's promise unfulfilled, as a socket whose peer stopped reading.
private final class StuckWrites: ChannelOutboundHandler {
    typealias OutboundIn = WebSocketFrame
    private var held: [EventLoopPromise<Void>] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let promise { held.append(promise) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        for promise in held { promise.fail(ChannelError.ioOnClosedChannel) }
    }
}

import CourierRealtime
@testable import CourierServer
import Foundation
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

/// A device's frames on their way to its socket: taken from the connection's queue on the socket's
/// event loop, written as text frames, and held in the queue (bounded) while the socket is full.
@Suite struct FrameWriterHandlerTests {
    private func written(_ channel: EmbeddedChannel) throws -> [String] {
        var texts: [String] = []
        while let frame = try channel.readOutbound(as: WebSocketFrame.self) {
            #expect(frame.opcode == .text && frame.fin)
            texts.append(String(buffer: frame.unmaskedData))
        }
        return texts
    }

    @Test func framesQueuedBeforeAndAfterGoOutInOrder() throws {
        let connection = DeviceConnection(userID: UUID(), sessionID: UUID(), queueLimit: 8)
        connection.send("before")
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameWriterHandler(connection: connection))
        channel.embeddedEventLoop.run()
        #expect(try written(channel) == ["before"])
        connection.send("one")
        connection.send("two")
        // Nothing is written off the socket's event loop: the two wait for it, and go together.
        #expect(try written(channel).isEmpty)
        channel.embeddedEventLoop.run()
        #expect(try written(channel) == ["one", "two"])
        _ = try channel.finish()
    }

    @Test func aFullSocketLeavesFramesInTheBoundedQueue() throws {
        let connection = DeviceConnection(userID: UUID(), sessionID: UUID(), queueLimit: 3)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameWriterHandler(connection: connection))
        channel.isWritable = false
        for index in 1...3 { connection.send("frame \(index)") }
        channel.embeddedEventLoop.run()
        #expect(try written(channel).isEmpty)
        #expect(connection.closeReason == nil)
        // The socket drains: what waited goes out.
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try written(channel) == ["frame 1", "frame 2", "frame 3"])
        // Full again, and the device falls further behind than the queue holds: too far behind.
        channel.isWritable = false
        for index in 4...7 { connection.send("frame \(index)") }
        #expect(connection.closeReason?.code == ConnectionCloseReason.overflow.code)
        _ = try channel.finish()
    }

    @Test func nothingIsWrittenAfterACloseFrameWentOut() throws {
        let connection = DeviceConnection(userID: UUID(), sessionID: UUID(), queueLimit: 8)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameWriterHandler(connection: connection))
        channel.isWritable = false
        connection.send("queued before the close")
        // Hummingbird's own close (answering the client's, a protocol error) passes on its way out.
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer()))
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        connection.send("after the close")
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: WebSocketFrame.self)?.opcode == .connectionClose)
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
        #expect(connection.takeFrame() == nil)
        _ = try channel.finish()
    }

    /// Turns the channel unwritable after `writes` writes, as NIO does once a socket's buffer passes
    /// its high-water mark.
    private final class FillsUp: ChannelOutboundHandler {
        typealias OutboundIn = WebSocketFrame
        var writes: Int
        init(after writes: Int) { self.writes = writes }
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            writes -= 1
            if writes == 0, let channel = context.channel as? EmbeddedChannel { channel.isWritable = false }
            context.write(data, promise: promise)
        }
    }

    @Test func writingStopsWhenTheSocketFillsAndTheRestWaitsInTheQueue() throws {
        let connection = DeviceConnection(userID: UUID(), sessionID: UUID(), queueLimit: 5)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FillsUp(after: 2))
        try channel.pipeline.syncOperations.addHandler(FrameWriterHandler(connection: connection))
        for index in 1...5 { connection.send("frame \(index)") }
        channel.embeddedEventLoop.run()
        // Two went to the socket (and were flushed); three wait in the queue, none copied for it.
        #expect(try written(channel) == ["frame 1", "frame 2"])
        // The queue still counts them: one more than it holds is too far behind.
        connection.send("frame 6")
        connection.send("frame 7")
        connection.send("frame 8")
        #expect(connection.closeReason?.code == ConnectionCloseReason.overflow.code)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try written(channel) == ["frame 3", "frame 4", "frame 5", "frame 6", "frame 7"])
        _ = try channel.finish()
    }

    @Test func anEndedSocketDropsWhatWaitsAndTakesNoMore() throws {
        let connection = DeviceConnection(userID: UUID(), sessionID: UUID(), queueLimit: 8)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameWriterHandler(connection: connection))
        channel.isWritable = false
        connection.send("never read")
        try channel.close().wait()
        connection.send("too late")
        channel.embeddedEventLoop.run()
        #expect(connection.takeAllFrames().isEmpty)
    }
}

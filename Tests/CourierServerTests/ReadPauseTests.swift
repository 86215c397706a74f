@testable import CourierServer
import NIOCore
import NIOEmbedded
import Testing

@Suite struct ReadPauseTests {
    /// Counts the reads asked of the channel (what resuming `autoRead` does).
    private final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Never
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// Reading resumes only once every reason let go, whichever let go first.
    @Test(arguments: [true, false])
    func readingResumesWhenNoReasonHolds(backlogFirst: Bool) throws {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let pause = ReadPause(channel: channel)
        let reads = counter.reads
        pause.hold(.backlog)
        pause.hold(.controlFrames)
        pause.hold(.backlog)
        #expect(!pause.isReading)
        pause.release(backlogFirst ? .backlog : .controlFrames)
        #expect(!pause.isReading)
        #expect(counter.reads == reads, "still held by the other reason")
        pause.release(backlogFirst ? .backlog : .controlFrames)
        #expect(!pause.isReading, "releasing the same reason twice frees nothing")
        pause.release(backlogFirst ? .controlFrames : .backlog)
        #expect(pause.isReading)
        #expect(counter.reads == reads + 1, "reading resumed")
        _ = try channel.finish()
    }
}

import CourierRealtime
import Foundation

/// A `DeviceConnection` whose writer is the test's own: each frame is taken as the socket's writer
/// would take it, and handed over, in order, on `outgoing`.
final class CollectedDevice: Sendable {
    let connection: DeviceConnection
    let outgoing: AsyncStream<DeviceConnection.OutgoingFrame>
    private let continuation: AsyncStream<DeviceConnection.OutgoingFrame>.Continuation

    init(_ connection: DeviceConnection) {
        self.connection = connection
        (outgoing, continuation) = AsyncStream.makeStream()
        let continuation = self.continuation
        connection.attachWriter { [weak connection] in
            guard let connection else { return }
            while let frame = connection.takeFrame() { continuation.yield(frame) }
        }
    }

    func send(_ text: String) { connection.send(text) }

    /// The texts written so far, once no more will come.
    func texts() async -> [String] {
        continuation.finish()
        var texts: [String] = []
        for await frame in outgoing { texts.append(frame.text) }
        return texts
    }
}

extension DeviceConnection {
    /// Takes every frame waiting, as a writer whose socket takes them all would.
    func takeAllFrames() -> [OutgoingFrame] {
        var frames: [OutgoingFrame] = []
        while let frame = takeFrame() { frames.append(frame) }
        return frames
    }
}

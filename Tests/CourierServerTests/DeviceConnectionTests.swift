import CourierRealtime
import Foundation
import Synchronization
import Testing

/// One device's outgoing queue on its own: what a live frame does while a resume is under way, and
/// how a draining node closes a connection only after the frames in hand are answered.
@Suite("DeviceConnection and ConnectionRegistry")
struct DeviceConnectionTests {
    func connection(queueLimit: Int = 16) -> DeviceConnection {
        DeviceConnection(userID: UUID(), sessionID: UUID(), queueLimit: queueLimit)
    }

    /// What a writer attached now takes.
    func texts(of connection: DeviceConnection) async -> [String] {
        await CollectedDevice(connection).texts()
    }

    @Test func drainingWaitsForTheFramesInHandThenClosesWithServiceRestart() async {
        let device = connection()
        #expect(device.beginHandling())
        device.drain(.serviceRestart)
        // The frame in hand is still answered; a new one is not taken.
        #expect(device.closeReason == nil)
        #expect(!device.beginHandling())
        device.send("ack")
        device.endHandling()
        #expect(device.closeReason == .serviceRestart)
        #expect(device.closeReason?.code == 1012)
        #expect(await texts(of: device) == ["ack"])
    }

    @Test func anIdleConnectionClosesAtOnceWhenDrained() {
        let device = connection()
        device.drain(.serviceRestart)
        #expect(device.closeReason == .serviceRestart)
        // The first reason stays the one sent.
        device.close(.catchUp)
        #expect(device.closeReason == .serviceRestart)
    }

    @Test func liveFramesWaitForTheResumeAndWhatItSentIsNotSentTwice() async {
        let device = connection()
        let chat = UUID()
        device.beginResume()
        device.enqueue("live 5", position: UpdatePosition(stream: chat, pts: 5))
        device.enqueue("live 6", position: UpdatePosition(stream: chat, pts: 6))
        device.send("history 5", position: UpdatePosition(stream: chat, pts: 5))
        device.releaseLiveFrames(resumedUpTo: [chat: 5])
        // Late live copies of what the resume sent are dropped from now on.
        device.enqueue("live 5 again", position: UpdatePosition(stream: chat, pts: 5))
        device.enqueue("live 7", position: UpdatePosition(stream: chat, pts: 7))
        #expect(await texts(of: device) == ["history 5", "live 6", "live 7"])
    }

    @Test func aDeviceThatCannotTakeItsFramesIsClosedAsTooFarBehind() {
        let device = connection(queueLimit: 2)
        for index in 0..<3 { device.enqueue("frame \(index)") }
        #expect(device.closeReason?.code == 4008)
    }

    @Test func theWriterIsWokenOnceForWhatWaitsUntilItFindsTheQueueEmpty() {
        let device = connection()
        let wakes = Mutex(0)
        device.send("queued before the writer")
        device.attachWriter { wakes.withLock { $0 += 1 } }
        #expect(wakes.withLock { $0 } == 1)
        // Awake: more frames wait for it without waking it again.
        device.send("two")
        device.send("three")
        #expect(wakes.withLock { $0 } == 1)
        #expect(device.takeAllFrames().map(\.text) == ["queued before the writer", "two", "three"])
        #expect(device.takeAllFrames().isEmpty)
        // Asleep again: the next frame wakes it.
        device.send("four")
        #expect(wakes.withLock { $0 } == 2)
    }

    @Test func aDeviceWhoseWriterFallsBehindIsClosedAsTooFarBehind() {
        let device = connection(queueLimit: 2)
        device.attachWriter {}
        device.send("one")
        device.send("two")
        #expect(device.closeReason == nil)
        // The socket takes none of them (a device that stopped reading): the third is one too many.
        device.send("three")
        #expect(device.closeReason?.code == 4008)
        // What waited still goes out before the close; nothing after it is queued.
        device.send("four")
        #expect(device.takeAllFrames().map(\.text) == ["one", "two"])
    }

    @Test func aClosedConnectionIsWrittenOnceTheWriterTookWhatWaited() async throws {
        let device = connection()
        device.attachWriter {}
        device.send("last")
        device.close(.sessionRevoked)
        let returned = Mutex(false)
        let written = Task {
            let written = await device.waitUntilWritten()
            returned.withLock { $0 = true }
            return written
        }
        try await Task.sleep(for: .milliseconds(50))
        // Still waiting: the frame before the close is not taken yet.
        #expect(returned.withLock { $0 } == false)
        #expect(device.takeFrame()?.text == "last")
        try await Task.sleep(for: .milliseconds(50))
        #expect(returned.withLock { $0 } == false)
        // The writer looks once more and finds nothing: all written.
        #expect(device.takeFrame() == nil)
        #expect(await written.value)
    }

    @Test func aConnectionThatEndsBeforeItsFramesAreWrittenIsNotWrittenAfter() async throws {
        let device = connection()
        device.attachWriter {}
        device.send("never taken")
        device.close(.tokenExpired)
        let written = Task { await device.waitUntilWritten() }
        try await Task.sleep(for: .milliseconds(50))
        // The socket went away with the frame still queued: no close frame is to follow it.
        device.finish()
        #expect(await written.value == false)
    }

    @Test func aDrainingRegistryAdmitsNobodyAndHandsOverItsConnections() async {
        let registry = ConnectionRegistry(maxConnections: 10)
        let device = connection()
        #expect(await registry.admit(device, expiresAt: .now().adding(seconds: 60)) == .admitted(isFirst: true))
        let open = await registry.beginDraining()
        #expect(open.map(\.id) == [device.id])
        #expect(await registry.room(for: UUID()) == .draining)
        #expect(await registry.admit(connection(), expiresAt: .now().adding(seconds: 60)) == .draining)
    }

    @Test func storedRangesCoverRunsOfPositionsPerStream() {
        let chat = UUID(), other = UUID()
        let ranges = StoredRange.covering([(chat, 3), (chat, 4), (chat, 7), (other, 1), (chat, 5)])
        #expect(Set(ranges) == [
            StoredRange(stream: chat, first: 3, last: 5), StoredRange(stream: chat, first: 7, last: 7), StoredRange(stream: other, first: 1, last: 1),
        ])
    }
}

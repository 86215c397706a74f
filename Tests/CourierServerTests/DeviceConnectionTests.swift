import CourierRealtime
import Foundation
import Testing

/// One device's outgoing queue on its own: what a live frame does while a resume is under way, and
/// how a draining node closes a connection only after the frames in hand are answered.
@Suite("DeviceConnection and ConnectionRegistry")
struct DeviceConnectionTests {
    func connection(queueLimit: Int = 16) -> DeviceConnection {
        DeviceConnection(userID: UUID(), sessionID: UUID(), queueLimit: queueLimit)
    }

    func texts(of connection: DeviceConnection) async -> [String] {
        connection.finish()
        var texts: [String] = []
        for await frame in connection.outgoing { texts.append(frame.text) }
        return texts
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

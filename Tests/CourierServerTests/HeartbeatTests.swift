import CourierClient
import CourierRealtime
@testable import CourierServer
import Foundation
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

/// The WebSocket heartbeat: a ping every interval from an event-loop timer, and the end of a
/// device that stops answering.
@Suite struct HeartbeatTests {
    private final class Silences: Sendable {
        let count = Mutex(0)
        func note() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    /// The pong that answers `ping`: its payload back.
    private static func pong(answering ping: WebSocketFrame?) throws -> WebSocketFrame {
        let ping = try #require(ping)
        #expect(ping.opcode == .ping)
        return WebSocketFrame(fin: true, opcode: .pong, data: ping.unmaskedData)
    }

    @Test func pingsEveryIntervalAndReportsSilenceOnce() throws {
        let silences = Silences()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HeartbeatHandler(interval: .seconds(30)) { silences.note() })

        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let ping = try channel.readOutbound(as: WebSocketFrame.self)

        // Answered: the next interval brings the next ping, and the pong goes on up the pipeline.
        try channel.writeInbound(try Self.pong(answering: ping))
        #expect(try channel.readInbound(as: WebSocketFrame.self)?.opcode == .pong)
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        let next = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(next.opcode == .ping)
        // Each ping carries a payload of its own, for its answer to be told from any other pong.
        #expect(next.unmaskedData.readableBytes == 8 && next.unmaskedData != ping?.unmaskedData)
        #expect(silences.value == 0)

        // Not answered for a whole interval: silence, once, and no more pings.
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(silences.value == 1)
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(120))
        #expect(silences.value == 1)
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
        _ = try channel.finish()
    }

    @Test func otherFramesAndUnsolicitedPongsPassAndDoNotCountAsAnAnswer() throws {
        let silences = Silences()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HeartbeatHandler(interval: .seconds(30)) { silences.note() })
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(try channel.readOutbound(as: WebSocketFrame.self)?.opcode == .ping)
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "{}")))
        #expect(try channel.readInbound(as: WebSocketFrame.self)?.opcode == .text)
        // A pong a client sends without reading the ping (empty, or with a payload of its own).
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer()))
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer(integer: UInt64(42))))
        #expect(try channel.readInbound(as: WebSocketFrame.self)?.opcode == .pong)
        #expect(try channel.readInbound(as: WebSocketFrame.self)?.opcode == .pong)
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(silences.value == 1)
        _ = try channel.finish()
    }

    @Test func noPingFollowsACloseFrame() throws {
        let silences = Silences()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HeartbeatHandler(interval: .seconds(30)) { silences.note() })
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer()))
        #expect(try channel.readOutbound(as: WebSocketFrame.self)?.opcode == .connectionClose)
        channel.embeddedEventLoop.advanceTime(by: .seconds(300))
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
        #expect(silences.value == 0)
        _ = try channel.finish()
    }

    @Test func stopsWhenTheConnectionEnds() throws {
        let silences = Silences()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HeartbeatHandler(interval: .seconds(30)) { silences.note() })
        try channel.close().wait()
        channel.embeddedEventLoop.advanceTime(by: .seconds(300))
        #expect(silences.value == 0)
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
    }

    @Test func aDeviceThatStopsAnsweringIsClosedAndItsPlaceGivenBack() async throws {
        try await withLiveServer(.sqlite, gateway: GatewayConfiguration(pingInterval: .milliseconds(300))) { client, services in
            let alice = try await client.signUp("alice_1")
            // A client that reads what comes but never answers a ping, and one that sends pongs of
            // its own every 100 ms without reading a byte.
            let silent = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(silent) }
            let ponging = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(ponging) }
            let pongs = Task {
                while !Task.isCancelled {
                    try? RawHTTP.sendFrame(ponging, opcode: 0xA, fin: true, [])
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { pongs.cancel() }
            let frames = try await RawHTTP.readFrames(silent, timeoutSeconds: 20)
            let opcodes = frames.map(\.opcode)
            #expect(opcodes.first == 0x9, "the first frame is a ping: \(opcodes)")
            let close = try #require(frames.first { $0.opcode == 0x8 }, "no close frame: \(opcodes)")
            #expect(close.closeCode == ConnectionCloseReason.pingTimeout.code)
            #expect(String(decoding: close.payload.dropFirst(2), as: UTF8.self) == ConnectionCloseReason.pingTimeout.reason)
            try await waitUntil("both devices' places given back") { await services.registry.count == 0 }
        }
    }

    @Test func aDeviceThatAnswersStaysConnected() async throws {
        try await withLiveServer(.sqlite, gateway: GatewayConfiguration(pingInterval: .seconds(1))) { client, services in
            let alice = try await client.signUp("alice_1")
            let device = await TestDevice(client, token: alice.token)
            try await device.ready()
            // Five intervals: five pings answered by the client library (a second each, so a
            // loaded machine's stall does not count as silence).
            try await Task.sleep(for: .seconds(5))
            #expect(await services.registry.count == 1)
            #expect(await device.recorder.closeCodes.isEmpty)
            #expect(await device.recorder.connects == 1)
            await device.stop()
        }
    }
}

import CourierClient
import CourierServer
import Foundation
import Testing

/// A client's frames as the gateway reads them (`WebSocketReader`): fragments joined into one
/// message, pings and closes answered, and the connection closed with WebSocket's own code when
/// they break the rules.
@Suite struct FragmentedMessageTests {
    private static let textOpcode: UInt8 = 0x1, binaryOpcode: UInt8 = 0x2, continuation: UInt8 = 0x0
    private static let closeOpcode: UInt8 = 0x8, pingOpcode: UInt8 = 0x9, pongOpcode: UInt8 = 0xA

    private static func closeCode(_ frames: [RawHTTP.ServerFrame]) -> UInt16? {
        frames.lazy.compactMap(\.closeCode).first
    }

    @Test func aMessageInFragmentsIsHandledAsOne() async throws {
        try await withLiveServer(.sqlite) { client, _ in
            let alice = try await client.signUp("alice_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            try RawHTTP.sendFrame(socket, opcode: Self.textOpcode, fin: false, Array(#"{"type":"pi"#.utf8))
            try RawHTTP.sendFrame(socket, opcode: Self.continuation, fin: false, Array(#"ng","re"#.utf8))
            try RawHTTP.sendFrame(socket, opcode: Self.continuation, fin: true, Array(#"f":"f-1"}"#.utf8))
            let frames = try await RawHTTP.readFrames(socket, timeoutSeconds: 10) { frames in
                frames.contains { $0.opcode == Self.textOpcode }
            }
            let answer = try #require(frames.first { $0.opcode == Self.textOpcode })
            let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.payload)) as? [String: Any])
            #expect(json["type"] as? String == "pong")
            #expect(json["ref"] as? String == "f-1")
        }
    }

    @Test func fragmentsLargerThanTheLimitTogetherCloseWith1009() async throws {
        try await withLiveServer(.sqlite, gateway: GatewayConfiguration(maxFrameBytes: 1024)) { client, services in
            let alice = try await client.signUp("alice_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            // Each fragment is within the limit; the message they make is not.
            let part = Array(String(repeating: "x", count: 600).utf8)
            try RawHTTP.sendFrame(socket, opcode: Self.textOpcode, fin: false, part)
            try RawHTTP.sendFrame(socket, opcode: Self.continuation, fin: false, part)
            try RawHTTP.sendFrame(socket, opcode: Self.continuation, fin: true, part)
            let frames = try await RawHTTP.readFrames(socket, timeoutSeconds: 10) { Self.closeCode($0) != nil }
            #expect(Self.closeCode(frames) == 1009)
            try await waitUntil("its place given back") { await services.registry.count == 0 }
        }
    }

    @Test func aFragmentWithoutAStartClosesWith1002() async throws {
        try await withLiveServer(.sqlite) { client, services in
            let alice = try await client.signUp("alice_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            try RawHTTP.sendFrame(socket, opcode: Self.continuation, fin: true, Array("stray".utf8))
            let frames = try await RawHTTP.readFrames(socket, timeoutSeconds: 10) { Self.closeCode($0) != nil }
            #expect(Self.closeCode(frames) == 1002)
            try await waitUntil("its place given back") { await services.registry.count == 0 }
        }
    }

    @Test func anUnmaskedFrameClosesWith1002() async throws {
        try await withLiveServer(.sqlite) { client, services in
            let alice = try await client.signUp("alice_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            try await waitUntil("the connection admitted") { await services.registry.count == 1 }
            try RawHTTP.sendFrame(socket, opcode: Self.textOpcode, fin: true, masked: false, Array(#"{"type":"ping","ref":"u-1"}"#.utf8))
            let frames = try await RawHTTP.readFrames(socket, timeoutSeconds: 10)
            #expect(Self.closeCode(frames) == 1002)
            #expect(!frames.contains { $0.opcode == Self.textOpcode }, "the unmasked frame was not handled")
            try await waitUntil("its place given back") { await services.registry.count == 0 }
        }
    }

    /// A ping is answered with its payload; a binary message with an error; the client's close with
    /// its own code, and the connection then ends.
    @Test func pingsBinaryAndTheClientsCloseAreAnswered() async throws {
        try await withLiveServer(.sqlite) { client, services in
            let alice = try await client.signUp("alice_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            try RawHTTP.sendFrame(socket, opcode: Self.pingOpcode, fin: true, Array("hello".utf8))
            try RawHTTP.sendFrame(socket, opcode: Self.binaryOpcode, fin: true, [1, 2, 3])
            let answered = try await RawHTTP.readFrames(socket, timeoutSeconds: 10) { frames in
                frames.contains { $0.opcode == Self.pongOpcode } && frames.contains { $0.opcode == Self.textOpcode }
            }
            #expect(answered.first { $0.opcode == Self.pongOpcode }?.payload == Array("hello".utf8))
            let error = try #require(answered.first { $0.opcode == Self.textOpcode })
            #expect(String(decoding: error.payload, as: UTF8.self).contains("invalid_frame"))
            try RawHTTP.sendFrame(socket, opcode: Self.closeOpcode, fin: true, [0x0F, 0xA0])  // 4000
            let closing = try await RawHTTP.readFrames(socket, timeoutSeconds: 10)
            #expect(Self.closeCode(closing) == 4000)
            try await waitUntil("its place given back") { await services.registry.count == 0 }
        }
    }

    /// A client that sends and closes in one go still has its messages answered before the close.
    @Test func messagesSentJustBeforeACloseAreAnswered() async throws {
        try await withLiveServer(.sqlite) { client, services in
            let alice = try await client.signUp("alice_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            for ref in 1...3 { try RawHTTP.sendTextFrame(socket, #"{"type":"ping","ref":"c-\#(ref)"}"#) }
            try RawHTTP.sendFrame(socket, opcode: Self.closeOpcode, fin: true, [0x03, 0xE8])  // 1000
            let frames = try await RawHTTP.readFrames(socket, timeoutSeconds: 10)
            let answers = frames.filter { $0.opcode == Self.textOpcode }.map { String(decoding: $0.payload, as: UTF8.self) }
            #expect(answers.count == 3 && zip(answers, 1...3).allSatisfy { $0.contains("c-\($1)") })
            #expect(frames.last?.closeCode == 1000)
            try await waitUntil("its place given back") { await services.registry.count == 0 }
        }
    }
}

import CourierClient
import CourierServer
import Foundation
import Testing

/// A client's messages as the gateway reads them: fragments joined into one message, and the
/// connection closed with WebSocket's own code when they break the rules.
@Suite struct FragmentedMessageTests {
    private static let textOpcode: UInt8 = 0x1, continuation: UInt8 = 0x0

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
}

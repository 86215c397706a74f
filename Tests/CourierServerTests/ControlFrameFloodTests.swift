import CourierClient
import CourierServer
import Foundation
import Testing

/// A client that floods control frames is stopped: past its `ControlFrameBudget` the server stops
/// reading its socket, and closes it when more come with the read that went over, so the flood
/// costs the server one read.
@Suite struct ControlFrameFloodTests {
    /// A masked ping (zero mask) with the largest payload a control frame may carry.
    private static let ping: [UInt8] = [0x89, 0x80 | 125, 0, 0, 0, 0] + [UInt8](repeating: 0x70, count: 125)

    @Test func aPingFloodIsCutAndOthersAreServed() async throws {
        try await withLiveServer(.sqlite) { client, services in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            // A server that read on would take the flood as fast as it comes (the pings answered,
            // or dropped while the client reads no pongs); this one reads a few hundred, then
            // closes with 1008 and resets the socket, its buffers full of unread pings.
            let outcome = try await RawHTTP.flood(socket, with: Self.ping, seconds: 10, limit: 64 << 20)
            guard case .cut(let bytes) = outcome else {
                Issue.record("the flooding client was not cut off: \(outcome)")
                return
            }
            #expect(bytes < 32 << 20, "\(bytes) bytes taken before the cut")
            try await waitUntil("the flooding socket's place given back") { await services.registry.count == 0 }
            // Everyone else is served.
            let chat = try await client.directChat(with: alice.user.id, token: bob.token)
            let sent = try await client.send("still here?", to: chat, token: bob.token)
            #expect(sent.content == "still here?")
        }
    }

    /// Empty fragments of one message pass the size limit and every message limit; past
    /// `WebSocketReader.maxFragments` the client is closed (one client sending them kept a core busy).
    @Test func aFloodOfEmptyFragmentsIsCut() async throws {
        try await withLiveServer(.sqlite) { client, services in
            let alice = try await client.signUp("alice_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            try RawHTTP.sendFrame(socket, opcode: 0x1, fin: false, [])
            let emptyContinuation: [UInt8] = [0x00, 0x80, 0, 0, 0, 0]
            let outcome = try await RawHTTP.flood(socket, with: emptyContinuation, seconds: 10, limit: 64 << 20)
            guard case .cut = outcome else {
                Issue.record("the client sending empty fragments was not cut off: \(outcome)")
                return
            }
            try await waitUntil("its place given back") { await services.registry.count == 0 }
        }
    }
}

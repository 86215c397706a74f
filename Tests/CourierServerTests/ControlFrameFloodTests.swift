import CourierClient
import CourierServer
import Foundation
import Testing

/// A client that floods control frames is held back by TCP: past its `ControlFrameBudget` the
/// server stops reading its socket, so the flood costs the server nothing more.
@Suite struct ControlFrameFloodTests {
    /// A masked ping (zero mask) with the largest payload a control frame may carry.
    private static let ping: [UInt8] = [0x89, 0x80 | 125, 0, 0, 0, 0] + [UInt8](repeating: 0x70, count: 125)

    @Test func aPingFloodIsNotReadAndOthersAreServed() async throws {
        try await withLiveServer(.sqlite) { client, services in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_1")
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            // Once the socket's buffers are full, a server that still read would take megabytes a
            // second (the pings are answered or dropped as fast as they come); one that stopped
            // reading takes none until the budget refills.
            let taken = try await RawHTTP.flood(socket, with: Self.ping, seconds: 3, limit: 512 << 20)
            let afterFull = try #require(taken, "the server read the flood as fast as it came")
            #expect(afterFull < 1 << 20, "\(afterFull) bytes taken after the buffers were full")
            // Everyone else is served meanwhile.
            let chat = try await client.directChat(with: alice.user.id, token: bob.token)
            let sent = try await client.send("still here?", to: chat, token: bob.token)
            #expect(sent.content == "still here?")
            RawHTTP.close(socket)
            try await waitUntil("the flooding socket's place given back") { await services.registry.count == 0 }
        }
    }
}

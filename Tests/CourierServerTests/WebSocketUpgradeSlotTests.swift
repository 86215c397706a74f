@testable import CourierServer
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import NIOCore
import Synchronization
import Testing

/// A closed WebSocket connection is given back whole: Hummingbird's stored handler (which holds a
/// copy of the request context, which holds the channel) is let go when the connection closes.
@Suite struct WebSocketUpgradeSlotTests {
    @Test func theSlotKeepsOneBoxUntilReleased() {
        let slot = WebSocketUpgradeSlot()
        #expect(!slot.isHolding)
        _ = slot.reference
        #expect(slot.isHolding)
        slot.release()
        #expect(!slot.isHolding)
        // Asked for after the release (a connection that closed mid-upgrade), the box is not kept.
        _ = slot.reference
        #expect(!slot.isHolding)
    }

    /// Before the slot, each of these channels stayed allocated for the life of the process.
    @Test func aClosedWebSocketsChannelIsFreed() async throws {
        let channels = WeakChannels()
        let router = Router(context: AppRequestContext.self)
        router.webSocket("ws", shouldUpgrade: { _, _ in .upgrade([:]) }) { inbound, _, context in
            channels.remember(context.requestContext.channel)
            for try await _ in inbound {}
        }
        let app = Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 0))
        )
        try await app.test(.live) { client in
            let port = try #require(client.port)
            for opened in 1...5 {
                let socket = try await RawHTTP.openSilentWebSocket(port: port, path: "/ws")
                try await waitUntil("the connection's handler running") { channels.count == opened }
                RawHTTP.close(socket)
            }
            try await waitUntil("every closed connection's channel freed") { channels.alive == 0 }
        }
    }
}

/// Channels seen by a handler, held weakly.
private final class WeakChannels: Sendable {
    private struct Entry { weak var channel: (any Channel)? }
    private let entries = Mutex<[Entry]>([])

    func remember(_ channel: any Channel) { entries.withLock { $0.append(Entry(channel: channel)) } }
    var count: Int { entries.withLock { $0.count } }
    var alive: Int { entries.withLock { $0.count { $0.channel != nil } } }
}

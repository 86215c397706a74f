@testable import CourierServer
import Hummingbird
import HummingbirdCore
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// `HTTPAndWebSocketChannel`'s upgrade: the router's `/ws` route leaves an accepted upgrade in the
/// request's slot, and a closed socket is given back whole.
@Suite struct WebSocketUpgradeSlotTests {
    @Test func theSlotHandsAnAcceptedUpgradeOverOnce() {
        let slot = WebSocketUpgradeSlot()
        #expect(slot.take() == nil)
        slot.accept(WebSocketUpgrade(request: Request(head: .init(method: .get, scheme: nil, authority: nil, path: "/ws"), body: .init(buffer: .init())), logger: .init(label: "test")))
        #expect(slot.take()?.request.uri.path == "/ws")
        #expect(slot.take() == nil)
    }

    /// Hummingbird's own upgrade kept every one of these channels for the life of the process (its
    /// stored handler held the request context, which held the channel).
    @Test func aClosedWebSocketsChannelIsFreed() async throws {
        let channels = WeakChannels()
        let router = Router(context: AppRequestContext.self)
        router.get("ws") { request, context -> Response in
            context.webSocketSlot.accept(WebSocketUpgrade(request: request, logger: context.logger))
            return Response(status: .ok)
        }
        let upgradeResponder = router.buildResponder()
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                HTTPAndWebSocketChannel(
                    responder: responder, upgradeResponder: upgradeResponder, maxFrameSize: 1024, idleTimeout: .seconds(60)
                ) { _, inbox, channel in
                    channels.remember(channel)
                    inbox.attach { _ in }
                }
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0))
        )
        try await app.test(.live) { client in
            let port = try #require(client.port)
            for opened in 1...5 {
                let socket = try await RawHTTP.openSilentWebSocket(port: port, path: "/ws")
                try await waitUntil("the connection started") { channels.count == opened }
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

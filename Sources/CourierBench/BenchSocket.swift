import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A WebSocket connection of the load generator, on raw SwiftNIO: no task or actor hop per frame,
/// so the generator stays cheap next to the server it measures. Everything it does happens on its
/// channel's event loop; `send` must be called there.
final class BenchSocket: @unchecked Sendable {
    let channel: any Channel

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Opens an authenticated `/ws` connection on `eventLoop`; every text frame goes to `tally`.
    static func connect(
        host: String, port: Int, token: String, on eventLoop: any EventLoop, tally: LoopTally, user: Int = 0, from localAddress: String? = nil
    ) async throws -> BenchSocket {
        enum Upgrade: Sendable {
            case upgraded(any Channel)
            case refused
        }
        var bootstrap = ClientBootstrap(group: eventLoop)
        if let localAddress { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: localAddress, port: 0)) }
        let upgrade: EventLoopFuture<Upgrade> = try await bootstrap
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: 1 << 20) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(BenchFrameHandler(tally: tally, user: user))
                            return Upgrade.upgraded(channel)
                        }
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: "\(host):\(port)")
                    headers.add(name: "Content-Length", value: "0")
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws?token=\(token)", headers: headers)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeCompletedFuture { Upgrade.refused }
                        }
                    )
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration)
                    )
                }
            }
        switch try await upgrade.get() {
        case .upgraded(let channel):
            return BenchSocket(channel: channel)
        case .refused:
            throw BenchError("The server refused a WebSocket upgrade (a bad token, or COURIER_MAX_CONNECTIONS reached).")
        }
    }

    /// Sends a text frame. Call on the channel's event loop.
    func send(_ text: String) {
        let buffer = channel.allocator.buffer(string: text)
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: buffer), promise: nil)
    }

    func close() async {
        try? await channel.close()
    }
}

/// Hands text frames to the loop's tally and answers pings (the server drops silent peers).
final class BenchFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let tally: LoopTally
    /// The index of the user whose socket this is.
    let user: Int

    init(tally: LoopTally, user: Int) {
        self.tally = tally
        self.user = user
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            tally.received(frame.unmaskedData, by: user)
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            tally.closedByServer += 1
            context.close(promise: nil)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Hummingbird's HTTP/1.1 server channel with Courier's WebSocket upgrade.
///
/// An upgrade request runs through the router like any request; the `/ws` route accepts it
/// (`WebSocketUpgradeSlot`) or throws, and a refusal is answered with the router's own response
/// (the JSON error a REST call would get). An accepted socket becomes NIO handlers: the frame
/// decoder and encoder, then (`WebSocketGateway.start`) the heartbeat, the frame writer and the
/// `WebSocketReader`. The connection's task ends once the socket is admitted.
///
/// It replaces Hummingbird's `HTTP1WebSocketUpgradeChannel`, which runs each socket's life in a
/// Swift task: a task keeps the memory of the deepest call it ever made until it ends, about
/// 18 KB per socket there (heaptrack, 3,000 idle sockets), more than half of what a socket cost.
struct HTTPAndWebSocketChannel: ServerChildChannel, HTTPChannelHandler {
    enum Negotiated: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade the router refused, with the router's answer.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, RefusedUpgrade)
        case webSocket(WebSocketUpgrade, WebSocketInbox)
    }

    /// What the router said to an upgrade request.
    enum RouterAnswer: Sendable {
        /// With the headers the 101 carries (what the middleware added; NIO adds the upgrade's own).
        case accepted(WebSocketUpgrade, HTTPHeaders)
        case refused(RefusedUpgrade)
    }

    /// The router's answer to an upgrade it refused, read whole (an error body of a few hundred bytes).
    struct RefusedUpgrade: Sendable {
        let head: HTTPResponse
        let body: ByteBuffer

        /// For a request the router could not answer: a bare 400, as Hummingbird sends.
        static let badRequest = RefusedUpgrade(
            head: HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"]), body: ByteBuffer()
        )
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
        let logger: Logger
    }

    /// A refusal's body larger than this is not sent (the router's errors are far smaller).
    static let maxRefusalBody = 16 * 1024

    let responder: HTTPChannelHandler.Responder
    let upgradeResponder: RouterResponder<AppRequestContext>
    let maxFrameSize: Int
    let idleTimeout: Duration
    let start: @Sendable (WebSocketUpgrade, WebSocketInbox, any Channel) async -> Void

    init(
        responder: @escaping HTTPChannelHandler.Responder, upgradeResponder: RouterResponder<AppRequestContext>,
        maxFrameSize: Int, idleTimeout: Duration, start: @escaping @Sendable (WebSocketUpgrade, WebSocketInbox, any Channel) async -> Void
    ) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.upgradeResponder = upgradeResponder
        self.maxFrameSize = maxFrameSize
        self.idleTimeout = idleTimeout
        self.start = start
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            var logger = logger
            logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let connectionLogger = logger
            // What the router said about the upgrade (nil: the first request was no upgrade), for
            // the step after it.
            let answer = NIOLockedValueBox<RouterAnswer?>(nil)
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: maxFrameSize,
                shouldUpgrade: { channel, head in
                    answer.withLockedValue { $0 = .refused(.badRequest) }
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    promise.completeWithTask {
                        let said = try await self.askRouter(head, channel: channel, logger: connectionLogger)
                        answer.withLockedValue { $0 = said }
                        guard case .accepted(_, let headers) = said else { return nil }
                        return headers
                    }
                    return promise.futureResult
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accepted(let upgrade, _)? = answer.withLockedValue({ $0 }) else { throw ChannelError.inappropriateOperationForState }
                        let inbox = WebSocketInbox(channel: channel)
                        try channel.pipeline.syncOperations.addHandler(WebSocketReader(inbox: inbox, maxMessageBytes: maxFrameSize))
                        return .webSocket(upgrade, inbox)
                    }
                }
            )
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: connectionLogger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        switch answer.withLockedValue({ $0 }) {
                        case nil: return .http(asyncChannel)
                        case .refused(let refusal)?: return .refused(asyncChannel, refusal)
                        case .accepted?: return .refused(asyncChannel, .badRequest)
                        }
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(upgradeConfiguration: upgradeConfiguration)
            configuration.enablePipelining = false  // NIOAsyncChannel takes requests one at a time
            configuration.enableErrorHandling = false  // Hummingbird answers malformed requests
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validated them
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(negotiated: negotiated, channel: channel, logger: connectionLogger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: value.logger)
            case .refused(let http, let refusal):
                await Self.write(refusal, to: http)
            case .webSocket(let upgrade, let inbox):
                // Admission; after it the socket lives on in its handlers.
                await start(upgrade, inbox, value.channel)
            }
        } catch let error as ChannelError where error == .inputClosed {
            // The client went away before its request was whole.
        } catch {
            value.logger.debug("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }

    /// Runs an upgrade request through the router: accepted, or the router's refusal.
    private func askRouter(_ head: HTTPRequestHead, channel: any Channel, logger: Logger) async throws -> RouterAnswer {
        let request = Request(head: try HTTPRequest(head, secure: false, splitCookie: false), body: .init(buffer: ByteBuffer()))
        let context = AppRequestContext(source: .init(channel: channel, logger: logger))
        let response: Response
        do {
            response = try await upgradeResponder.respond(to: request, context: context)
        } catch {
            // Not an answer the error middleware could give.
            _ = context.webSocketSlot.take()
            return .refused(.badRequest)
        }
        // Taken whatever the answer, so nothing outlives the request in its slot.
        let accepted = context.webSocketSlot.take()
        if response.status == .ok, let accepted {
            let skipped: Set<HTTPField.Name> = [.contentLength, .transferEncoding, .connection, .upgrade]
            return .accepted(accepted, HTTPHeaders(response.headers.filter { !skipped.contains($0.name) }.map { ($0.name.rawName, $0.value) }))
        }
        let body = CollectedBody(limit: Self.maxRefusalBody)
        var head = response.head
        do {
            try await response.body.write(BodyCollector(body: body))
        } catch {
            body.buffer.clear()
        }
        head.headerFields[.transferEncoding] = nil
        head.headerFields[.contentLength] = String(body.buffer.readableBytes)
        head.headerFields[.connection] = "close"
        return .refused(RefusedUpgrade(head: head, body: body.buffer))
    }

    /// Answers a refused upgrade and ends the connection.
    private static func write(_ refusal: RefusedUpgrade, to http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async {
        try? await http.executeThenClose { _, outbound in
            try await outbound.write(contentsOf: [.head(refusal.head), .body(refusal.body), .end(nil)])
        }
    }

    /// NIO reads an upgrade only as a connection's first request: a later one is sent to open a
    /// new connection (a redirect to itself, and this connection closed), as Hummingbird does.
    private static func redirectingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        { request, responseWriter, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, responseWriter, channel)
            }
            let location = request.uri.query.map { "\(request.uri.path)?\($0)" } ?? request.uri.path
            try await responseWriter.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location]))
            throw LateUpgrade()
        }
    }

    private struct LateUpgrade: Error {}
}

/// A response body read whole, up to a limit (what is past it is dropped).
private final class CollectedBody {
    let limit: Int
    var buffer = ByteBuffer()

    init(limit: Int) {
        self.limit = limit
    }

    func append(_ part: ByteBuffer) {
        var part = part
        guard let slice = part.readSlice(length: min(max(0, limit - buffer.readableBytes), part.readableBytes)) else { return }
        buffer.writeImmutableBuffer(slice)
    }
}

/// Hands a response's body to a `CollectedBody`.
private struct BodyCollector: ResponseBodyWriter {
    let body: CollectedBody

    mutating func write(_ part: ByteBuffer) async throws {
        body.append(part)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

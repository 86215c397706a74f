import CourierCore
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1

/// Makes a refused WebSocket upgrade answer with its reason: the status and JSON error body a REST
/// call would get (401 `token_expired`, 429, 503 …) instead of Hummingbird's bare 400.
///
/// Hummingbird answers every upgrade its router refused with an empty 400 and closes. The gateway
/// adds this handler to the connection's pipeline when it refuses; the handlers Hummingbird then
/// adds to write its 400 come after it, so that response passes through here and is replaced.
final class UpgradeRefusalHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let status: HTTPResponseStatus
    private let headers: HTTPHeaders
    private let body: ByteBuffer

    init(_ error: CourierError, requestID: String) {
        let (fields, body) = ErrorResponse.parts(for: error, requestID: requestID)
        var headers = HTTPHeaders(fields.map { ($0.name.rawName, $0.value) })
        headers.replaceOrAdd(name: "content-length", value: String(body.count))
        headers.replaceOrAdd(name: "cache-control", value: "no-store")
        headers.replaceOrAdd(name: "connection", value: "close")
        self.status = HTTPResponseStatus(statusCode: error.kind.status.code)
        self.headers = headers
        self.body = ByteBuffer(bytes: body)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            let refusal = HTTPResponseHead(version: head.version, status: status, headers: headers)
            context.write(wrapOutboundOut(.head(refusal)), promise: promise)
        case .body:
            promise?.succeed()
        case .end:
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.write(wrapOutboundOut(.end(nil)), promise: promise)
            // One refusal per connection: anything after it passes unchanged.
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    /// Makes the upgrade refused on `channel` answer with `error`.
    static func install(_ error: CourierError, requestID: String, on channel: any Channel) async {
        try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(UpgradeRefusalHandler(error, requestID: requestID))
        }.get()
    }
}

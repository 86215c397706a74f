import CourierCore
import Hummingbird
import NIOCore

/// Hummingbird's `ResponseEncoder` for every JSON answer: `StreamingJSONEncoder` with the dates
/// Hummingbird's default encoder writes (ISO 8601), the body and headers as that one sets them.
public struct StreamingJSONResponseEncoder: ResponseEncoder {
    private let encoder = StreamingJSONEncoder(dateEncoding: .iso8601)

    public init() {}

    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        let bytes = try encoder.encode(value)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(bytes.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}

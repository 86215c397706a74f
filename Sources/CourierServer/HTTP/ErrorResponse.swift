import CourierCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The JSON body of every error: `{"error":{"code","message","field"?}}`.
struct ErrorResponse: Encodable {
    struct Detail: Encodable {
        let code: String
        let message: String
        let field: String?
    }

    let error: Detail

    /// The HTTP response for `error`, with `Retry-After` on 429 and a Bearer challenge on 401.
    static func response(for error: CourierError, requestID: String) -> Response {
        let (headers, body) = parts(for: error, requestID: requestID)
        return Response(status: error.kind.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The headers and JSON body of the response for `error`.
    static func parts(for error: CourierError, requestID: String) -> (headers: HTTPFields, body: Data) {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        switch error.kind {
        case .tooManyRequests(let seconds): headers[.retryAfter] = String(seconds)
        case .unauthorized: headers[.wwwAuthenticate] = "Bearer"
        default: break
        }
        headers[.requestID] = requestID
        let body = ErrorResponse(error: .init(code: error.code, message: error.message, field: error.field))
        let data = (try? JSONEncoder().encode(body)) ?? Data(#"{"error":{"code":"internal_error","message":"error"}}"#.utf8)
        return (headers, data)
    }
}

extension CourierError.Kind {
    /// The HTTP status that stands for this kind of failure.
    var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unprocessable: .unprocessableContent
        case .tooManyRequests: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

import CourierCore
import Hummingbird
import NIOCore

/// Turns every error a route throws into the JSON error format with the right status.
///
/// Errors the client caused keep their meaning (a framework 404 or 413 stays one); anything
/// unexpected becomes a 500 whose body names only the request id, while the log keeps the details.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return ErrorResponse.response(for: ErrorMapper.courierError(for: error, logger: context.logger), requestID: context.id)
        }
    }
}

extension CourierError {
    static let payloadTooLarge = CourierError(
        .payloadTooLarge, code: "payload_too_large", message: "The request body is larger than \(APILimits.maxJSONBodyBytes) bytes."
    )

    /// The error for a status the framework chose (no route, wrong method, …).
    init(_ status: HTTPResponse.Status) {
        switch status {
        case .notFound: self.init(.notFound, code: "not_found", message: "There is nothing at this address.")
        case .methodNotAllowed: self.init(.notFound, code: "not_found", message: "There is nothing at this address for this method.")
        case .contentTooLarge: self = .payloadTooLarge
        case .unauthorized: self = .unauthorized()
        case .forbidden: self.init(.forbidden, code: "forbidden", message: "You are not allowed to do this.")
        default: self.init(.badRequest, code: "bad_request", message: "The request is not valid.")
        }
    }
}

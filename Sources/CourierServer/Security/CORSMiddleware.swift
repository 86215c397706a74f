import CourierCore
import HTTPTypes
import Hummingbird

/// Lets browsers on the configured origins (`COURIER_ALLOWED_ORIGINS`) call the API; any other
/// origin gets no CORS headers, so browsers keep the answer from its page. The web client served by
/// Courier itself is same-origin and needs no entry.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed = allowedOrigins.contains(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else {
                let refusal = CourierError(.forbidden, code: "origin_not_allowed", message: "This origin may not call the API.")
                return ErrorResponse.response(for: refusal, requestID: context.id)
            }
            var headers = Self.headers(for: origin)
            headers[.accessControlAllowMethods] = "GET, POST, PATCH, DELETE, OPTIONS"
            headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Idempotency-Key"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        if allowed { response.headers.append(contentsOf: Self.headers(for: origin)) }
        return response
    }

    private static func headers(for origin: String) -> HTTPFields {
        [.accessControlAllowOrigin: origin, .vary: "Origin", .accessControlExposeHeaders: "Retry-After, X-Request-Id"]
    }
}

import Hummingbird
import Logging
import NIOCore

/// Logs one line per request when it completes (method, path, status, duration) and returns the
/// request id in `X-Request-Id`, so a client's report can be matched to the server's log.
///
/// The query string is never logged: it may carry a token (`/ws?token=…`).
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.requestID] = context.id
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.log(
            level: response.status.code >= 500 ? .error : .info,
            "request",
            metadata: [
                "method": "\(request.method.rawValue)",
                "path": "\(Self.loggable(request.uri.path))",
                "status": "\(response.status.code)",
                "duration_ms": "\((milliseconds * 10).rounded() / 10)",
            ]
        )
        return response
    }

    /// The path as it may be logged: a bot's token (`/bot<token>/…`, `/file/bot<token>/…`) is a
    /// password, so any segment that may carry one (a `:`, plain or percent-encoded, wherever the
    /// segment stands: `//bot…` reaches the Bot API too) is replaced.
    static func loggable(_ path: String) -> String {
        guard path.contains(":") || path.range(of: "%3a", options: .caseInsensitive) != nil else { return path }
        return path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            guard segment.contains(":") || segment.range(of: "%3a", options: .caseInsensitive) != nil else { return String(segment) }
            return segment.lowercased().hasPrefix("bot") ? "bot<token>" : "<token>"
        }.joined(separator: "/")
    }
}

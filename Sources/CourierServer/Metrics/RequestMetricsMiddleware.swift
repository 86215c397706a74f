import Hummingbird

/// Counts and times every request under its route template (`/api/v1/chats/{id}`), never its
/// path: a request for no route is counted as `unmatched`, and a method outside the usual few as
/// `OTHER`, so random paths and made-up methods add no series.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    static var knownMethods: Set<String> { ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let method = Self.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "OTHER"
        // Hummingbird names the route once it is matched ("NotFound" when nothing matched).
        func route() -> String {
            guard let path = context.endpointPath, path != "NotFound" else { return "unmatched" }
            return path
        }
        do {
            let response = try await next(request, context)
            metrics.recordRequest(method: method, route: route(), status: response.status.code, duration: .now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(method: method, route: route(), status: status, duration: .now - start)
            throw error
        }
    }
}

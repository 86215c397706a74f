import Hummingbird

/// Charges each signed-in request to its user's budget (429 with `Retry-After` when spent).
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let premium: PremiumService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let user = context.identity {
            try await premium.chargeRequest(of: user.userID)
        }
        return try await next(request, context)
    }
}

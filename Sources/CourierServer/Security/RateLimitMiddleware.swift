import Hummingbird

/// Charges each signed-in request to its user's budget (429 with `Retry-After` when spent).
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiter: RateLimiter
    let premium: PremiumService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let user = context.identity {
            let premium = self.premium
            try await limiter.takeRequest(of: user.userID) { try await premium.isPremium(user.userID) }
        }
        return try await next(request, context)
    }
}

import Hummingbird

/// Charges each API request to a budget (429 with `Retry-After` when spent): a signed-in request to
/// its user's, one without a token to its IP address's. (A request whose token is refused was
/// charged to its IP address by `TokenAuthenticator`.)
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let premium: PremiumService
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let user = context.identity {
            try await premium.takeRequestBudget(of: user.userID)
        } else {
            try await limiter.takeUnauthenticated(from: context.remoteAddress?.ipAddress)
        }
        return try await next(request, context)
    }
}

import CourierCore
import Hummingbird

/// Charges each signed-in API request to its user's budget (429 with `Retry-After` when spent).
///
/// A request without a token is charged only when it is refused with 401 (a bogus refresh token,
/// wrong credentials are limited on their own): to the budget of its IP address for refused
/// requests, which once spent answers 429 before the request costs anything. Signing in, signing up
/// and refreshing that succeed cost nothing here, so people behind one address are not locked out
/// by someone else's flood of good requests. (A refused token was counted by `TokenAuthenticator`.)
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let premium: PremiumService
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let user = context.identity {
            try await premium.takeRequestBudget(of: user.userID)
            return try await next(request, context)
        }
        let address = context.remoteAddress?.ipAddress
        try await limiter.checkRefusals(from: address)
        do {
            return try await next(request, context)
        } catch let error as CourierError where error.kind == .unauthorized {
            await limiter.countRefusal(from: address)
            throw error
        }
    }
}

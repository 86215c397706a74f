import CourierCore
import Hummingbird

/// Charges each signed-in API request to its user's budget (429 with `Retry-After` when spent),
/// except signing out (`POST /auth/logout`, `DELETE /auth/sessions/…`): someone flooding with a
/// stolen token must not stop its owner from signing that device out. The parts of an upload
/// (`PATCH /uploads/…`) that store bytes are not charged either: a 1 GiB file is 2,048 of them,
/// and what they may carry is already bounded by the upload's declared size and the quota; a
/// part that fails (unknown upload, wrong offset) is charged like any request.
///
/// A request without a token that is refused with 401 (a bogus refresh token, say) counts against
/// its IP address's budget for refused requests, which once spent answers such requests 429.
/// Requests that succeed without a token cost nothing of it. (A refused token was counted by
/// `TokenAuthenticator`.)
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let premium: PremiumService
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let user = context.identity {
            if Self.isUploadPart(request) {
                do {
                    return try await next(request, context)
                } catch {
                    // A part that stored nothing (unknown upload, wrong offset) is an ordinary request.
                    try await premium.takeRequestBudget(of: user.userID)
                    throw error
                }
            }
            if !Self.isSigningOut(request) { try await premium.takeRequestBudget(of: user.userID) }
            return try await next(request, context)
        }
        do {
            return try await next(request, context)
        } catch let error as CourierError where error.kind == .unauthorized {
            try await limiter.countRefusal(from: context.clientAddress)
            throw error
        }
    }

    static func isUploadPart(_ request: Request) -> Bool {
        request.method == .patch && request.uri.path.hasPrefix("/api/v1/uploads/")
    }

    static func isSigningOut(_ request: Request) -> Bool {
        let path = request.uri.path
        return (request.method == .post && path == "/api/v1/auth/logout")
            || (request.method == .delete && path.hasPrefix("/api/v1/auth/sessions/"))
    }
}

import CourierCore
import Hummingbird
import HummingbirdAuth

/// Finds the signed-in user from `Authorization: Bearer <access token>`.
///
/// No header: the request goes on anonymous, and routes that need a user refuse it. A header with a
/// bad, expired or signed-out token: refused here with 401, so a client learns its token is dead,
/// and charged to the IP address's budget for requests without a valid token (429 once spent), so
/// a flood of forged tokens is throttled like any other anonymous flood.
struct TokenAuthenticator: AuthenticatorMiddleware {
    typealias Context = AppRequestContext
    let auth: AuthService
    let limiter: RateLimiter

    func authenticate(request: Request, context: Context) async throws -> AuthenticatedUser? {
        guard request.headers[.authorization] != nil else { return nil }
        do {
            guard let bearer = request.headers.bearer else {
                throw CourierError.unauthorized("Use 'Authorization: Bearer <token>'.", code: "token_invalid")
            }
            return try await auth.authenticate(accessToken: bearer.token)
        } catch {
            try await limiter.takeUnauthenticated(from: context.remoteAddress?.ipAddress)
            throw error
        }
    }
}

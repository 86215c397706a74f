import CourierCore
import Hummingbird
import HummingbirdAuth

/// Finds the signed-in user from `Authorization: Bearer <access token>`.
///
/// No header: the request goes on anonymous, and routes that need a user refuse it. A header with a
/// bad, expired or signed-out token: refused here with 401, so a client learns its token is dead,
/// and counted against the IP address's budget for refused requests (429 once spent), so a flood
/// of forged tokens is throttled.
struct TokenAuthenticator: AuthenticatorMiddleware {
    typealias Context = AppRequestContext
    let auth: AuthService

    func authenticate(request: Request, context: Context) async throws -> AuthenticatedUser? {
        guard request.headers[.authorization] != nil else { return nil }
        return try await auth.verify(
            accessToken: request.headers.bearer?.token, from: context.clientAddress,
            missing: CourierError.unauthorized("Use 'Authorization: Bearer <token>'.", code: "token_invalid")
        ).user
    }
}

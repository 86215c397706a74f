import HTTPTypes
import Hummingbird

/// Sets the request context's `clientAddress`: the peer's address, or, when the peer is a trusted
/// proxy, the client's address it forwarded (see `TrustedProxies`). Every rate limit, session
/// record and audit entry reads it from there.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let trusted: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.clientAddress = trusted.clientAddress(peer: context.remoteAddress?.ipAddress, forwardedFor: request.headers[.xForwardedFor])
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}

/// A request context that knows the client's address (see `ClientAddressMiddleware`).
public protocol ClientAddressRequestContext: RequestContext {
    var clientAddress: String? { get }
}

extension AppRequestContext: ClientAddressRequestContext {}
extension AuthenticatedContext: ClientAddressRequestContext {}

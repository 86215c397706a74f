import CourierCore
import CourierStore
import Hummingbird

/// Records every 403 a signed-in user gets (who, which route), then lets the error go on.
struct AccessDenialAuditMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let audit: AuditService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as CourierError where error.kind == .forbidden {
            await audit.record(.init(
                action: "access_denied", outcome: .denied, actorID: context.identity?.userID,
                ipAddress: context.clientAddress,
                details: ["method": request.method.rawValue, "route": context.endpointPath ?? request.uri.path, "code": error.code]
            ))
            throw error
        }
    }
}

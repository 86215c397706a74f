import CourierCore
import Foundation
import Hummingbird

/// `/api/v1/auth`: register, sign in, refresh, sign out, and the list of signed-in devices.
struct AuthController {
    let auth: AuthService

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("register", use: register)
        group.post("login", use: login)
        group.post("refresh", use: refresh)
        let signedIn = group.group(context: AuthenticatedContext.self)
        signedIn.post("logout", use: logout)
        signedIn.get("sessions", use: sessions)
        signedIn.delete("sessions/:id", use: revokeSession)
        TwoFactorController(twoFactor: auth.twoFactor).addRoutes(to: signedIn.group("2fa"))
    }

    @Sendable func register(request: Request, context: AppRequestContext) async throws -> EditedResponse<SignedInResponse> {
        let body = try await request.decodeJSON(as: RegisterRequest.self, context: context)
        let signedIn = try await auth.register(try body.registration(), device: device(request, context, name: body.deviceName))
        return SignedInResponse(signedIn).response(status: .created)
    }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> SignedInResponse {
        let body = try await request.decodeJSON(as: LoginRequest.self, context: context)
        let device = device(request, context, name: body.deviceName)
        // An identifier that cannot exist gets the same work and answer as a wrong password.
        let secondFactor = AuthService.SecondFactor(code: body.totpCode, recoveryCode: body.recoveryCode)
        return SignedInResponse(try await auth.login(try body.identifier(), password: body.password, secondFactor: secondFactor, device: device))
    }

    @Sendable func refresh(request: Request, context: AppRequestContext) async throws -> TokensResponse {
        let body = try await request.decodeJSON(as: RefreshRequest.self, context: context)
        return TokensResponse(try await auth.refresh(refreshToken: body.refreshToken, device: device(request, context, name: nil)))
    }

    @Sendable func logout(request: Request, context: AuthenticatedContext) async throws -> Response {
        try await auth.logout(context.user)
        return noContent
    }

    @Sendable func sessions(request: Request, context: AuthenticatedContext) async throws -> SessionListResponse {
        let sessions = try await auth.activeSessions(of: context.user)
        return SessionListResponse(sessions: sessions.map { SessionResponse($0, current: $0.id == context.user.sessionID) })
    }

    @Sendable func revokeSession(request: Request, context: AuthenticatedContext) async throws -> Response {
        try await auth.revokeSession(try context.parameters.uuid("id", resource: "session"), of: context.user)
        return noContent
    }

    private func device(_ request: Request, _ context: some ClientAddressRequestContext, name: String?) -> AuthService.Device {
        AuthService.Device(name: name ?? request.headers[.userAgent], ipAddress: context.clientAddress)
    }
}

extension Parameters {
    /// The path parameter `name` as a UUID; anything else is a 404 for `resource`, since no such
    /// thing can exist.
    func uuid(_ name: String, resource: String) throws(CourierError) -> UUID {
        guard let text = self.get(name), let id = UUID(text: text) else { throw CourierError.notFound(resource) }
        return id
    }
}

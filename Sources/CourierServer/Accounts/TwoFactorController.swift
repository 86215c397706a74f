import CourierCore
import Hummingbird

/// `/api/v1/auth/2fa`: TOTP enrolment, confirmation, status and turning it off.
struct TwoFactorController {
    let twoFactor: TwoFactorService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get(use: status)
        group.post("setup", use: setup)
        group.post("confirm", use: confirm)
        group.post("disable", use: disable)
    }

    struct StatusResponse: ResponseEncodable {
        let enabled: Bool
    }

    struct SetupResponse: ResponseEncodable {
        let secret: String
        let otpauthURI: String

        enum CodingKeys: String, CodingKey {
            case secret
            case otpauthURI = "otpauth_uri"
        }
    }

    struct CodeRequest: Decodable {
        let code: String
    }

    struct RecoveryCodesResponse: ResponseEncodable {
        let enabled = true
        let recoveryCodes: [String]

        enum CodingKeys: String, CodingKey {
            case enabled
            case recoveryCodes = "recovery_codes"
        }
    }

    struct DisableRequest: Decodable {
        let password: String
        let code: String?
        let recoveryCode: String?

        enum CodingKeys: String, CodingKey {
            case password, code
            case recoveryCode = "recovery_code"
        }
    }

    @Sendable func status(request: Request, context: AuthenticatedContext) async throws -> StatusResponse {
        StatusResponse(enabled: try await twoFactor.isEnabled(context.user.userID))
    }

    /// Starts enrolment: add the URI (or the secret) to an authenticator app, then confirm with a code.
    @Sendable func setup(request: Request, context: AuthenticatedContext) async throws -> SetupResponse {
        let enrolment = try await twoFactor.begin(for: context.user.userID)
        return SetupResponse(secret: enrolment.secret, otpauthURI: enrolment.provisioningURI)
    }

    @Sendable func confirm(request: Request, context: AuthenticatedContext) async throws -> RecoveryCodesResponse {
        let body = try await request.decodeJSON(as: CodeRequest.self, context: context)
        return RecoveryCodesResponse(recoveryCodes: try await twoFactor.confirm(for: context.user.userID, code: body.code))
    }

    @Sendable func disable(request: Request, context: AuthenticatedContext) async throws -> StatusResponse {
        let body = try await request.decodeJSON(as: DisableRequest.self, context: context)
        try await twoFactor.disable(for: context.user.userID, password: body.password, code: body.code, recoveryCode: body.recoveryCode, ipAddress: context.clientAddress)
        return StatusResponse(enabled: false)
    }
}

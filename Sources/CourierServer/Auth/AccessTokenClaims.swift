import CourierCore
import Foundation
import JWTKit

/// The claims of an access token: the user (`sub`), the device session (`sid`), when it was issued
/// and when it expires, and a unique id (`jti`).
struct AccessTokenClaims: JWTPayload {
    var sub: SubjectClaim
    var sid: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim

    func verify(using algorithm: some JWTAlgorithm) throws {
        // Checked here, after the signature, so an expired token is reported as expired and not as forged.
        guard exp.value > Date() else {
            throw CourierError.unauthorized("The access token has expired; refresh it.", code: "token_expired")
        }
    }
}

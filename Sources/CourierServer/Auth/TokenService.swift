import CourierCore
import Foundation
import JWTKit

/// Issues and checks the two kinds of token.
///
/// Access tokens are JWTs (HS256, 24 h) that a server checks without a database round trip for the
/// signature; refresh tokens are 256-bit random strings that only exist in the database as SHA-256
/// hashes, so a copy of the database cannot be used to sign in.
public struct TokenService: Sendable {
    public static let accessTokenLifetime: Int64 = 24 * 60 * 60
    public static let refreshTokenLifetime: Int64 = 7 * 24 * 60 * 60

    private let keys: JWTKeyCollection

    public init(secret: String) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
    }

    /// A signed access token for `user` and when it expires.
    func accessToken(for user: AuthenticatedUser, at time: Timestamp) async throws -> (token: String, expiresAt: Timestamp) {
        // JWT times are whole seconds, which every JWT library reads the same way.
        let issuedAt = Timestamp(milliseconds: time.milliseconds / 1000 * 1000)
        let expiresAt = issuedAt.adding(seconds: Self.accessTokenLifetime)
        let claims = AccessTokenClaims(
            sub: .init(value: user.userID.lowercasedString),
            sid: user.sessionID.lowercasedString,
            iat: .init(value: issuedAt.date),
            exp: .init(value: expiresAt.date),
            jti: .init(value: UUID.random().lowercasedString)
        )
        return (try await keys.sign(claims), expiresAt)
    }

    /// The user and session an access token names, and when it expires, if its signature and expiry
    /// are valid. Whether the session is still signed in is the caller's check.
    func verifyAccessToken(_ token: String) async throws(CourierError) -> (user: AuthenticatedUser, expiresAt: Timestamp) {
        let claims: AccessTokenClaims
        do {
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch let error as CourierError {
            throw error
        } catch {
            throw .unauthorized("The access token is not valid.", code: "token_invalid")
        }
        guard let userID = UUID(text: claims.sub.value), let sessionID = UUID(text: claims.sid) else {
            throw .unauthorized("The access token is not valid.", code: "token_invalid")
        }
        return (AuthenticatedUser(userID: userID, sessionID: sessionID), Timestamp(claims.exp.value))
    }
}

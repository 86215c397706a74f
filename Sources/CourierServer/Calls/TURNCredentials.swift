import Crypto
import CourierCore
import Foundation

/// A time-limited TURN credential in coturn's `use-auth-secret` scheme (the "TURN REST API"): the
/// username is `<expiry as Unix seconds>:<user id>`, the password the Base64 of HMAC-SHA1 of the
/// username under the shared secret. coturn recomputes it and refuses it once expired; Courier
/// keeps no state for it.
public struct TURNCredentials: Sendable, Equatable {
    public let username: String
    public let password: String
    public let expiresAt: Timestamp

    public init(userID: UUID, secret: String, now: Timestamp, ttl: Duration) {
        let expiry = now.milliseconds / 1000 + ttl.components.seconds
        username = "\(expiry):\(userID.lowercasedString)"
        password = Self.password(for: username, secret: secret)
        expiresAt = Timestamp(milliseconds: expiry * 1000)
    }

    /// What coturn computes for `username`.
    public static func password(for username: String, secret: String) -> String {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(username.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Data(mac).base64EncodedString()
    }
}

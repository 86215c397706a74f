/// Why the server ends a WebSocket, as the close code and reason the client receives.
///
/// Codes are in the private-use range 4000–4999; the reason is the error code a REST call would
/// answer, so a client knows whether to resume at once, refresh its token, or sign in again.
public struct ConnectionCloseReason: Sendable, Equatable {
    public let code: UInt16
    public let reason: String

    public init(code: UInt16, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The device's session was signed out (logout, "sign out that device", a reused refresh
    /// token): sign in again; reconnecting with the same tokens is refused.
    public static let sessionRevoked = ConnectionCloseReason(code: 4001, reason: "session_revoked")
    /// The access token the socket was opened with expired: refresh it, reconnect and resume.
    public static let tokenExpired = ConnectionCloseReason(code: 4002, reason: "token_expired")
    /// The device did not keep up and its outgoing queue overflowed: reconnect and resume.
    public static let overflow = ConnectionCloseReason(code: 4008, reason: "too_far_behind")
    /// The server cannot serve the connection right now (a limit filled up during the handshake,
    /// the database did not answer): reconnect after a moment. WebSocket's own 1013.
    public static let tryAgainLater = ConnectionCloseReason(code: 1013, reason: "try_again_later")

    /// The close for an access token refused with `code`: expired (refresh and reconnect) or
    /// anything else (sign in again).
    public static func refusedToken(code: String) -> ConnectionCloseReason {
        code == "token_expired" ? .tokenExpired : .sessionRevoked
    }
}

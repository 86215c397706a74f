/// Why the server ends a WebSocket, as the close code and reason the client receives.
///
/// Codes are in the private-use range 4000–4999; the reason is the error code a REST call would
/// answer, so a client knows whether to resume at once, refresh its token, or sign in again.
public struct ConnectionCloseReason: Sendable, Equatable {
    public let code: UInt16
    public let reason: String
    /// How long the client has, once closed, before the connection is cut whether or not the
    /// close frame could be written: short when access ended (a silent client keeps nothing), long
    /// enough for a slow device to drain what it was sent otherwise.
    public let grace: Duration

    public init(code: UInt16, reason: String, grace: Duration = .seconds(2)) {
        self.code = code
        self.reason = reason
        self.grace = grace
    }

    /// The device's session was signed out (logout, "sign out that device", a reused refresh
    /// token): sign in again; reconnecting with the same tokens is refused.
    public static let sessionRevoked = ConnectionCloseReason(code: 4001, reason: "session_revoked")
    /// The access token the socket was opened with expired: refresh it, reconnect and resume.
    public static let tokenExpired = ConnectionCloseReason(code: 4002, reason: "token_expired")
    /// The device did not keep up and its outgoing queue overflowed: reconnect and resume.
    public static let overflow = overflow(grace: .seconds(30))

    /// `overflow` with another time to drain before the connection is cut.
    public static func overflow(grace: Duration) -> ConnectionCloseReason {
        ConnectionCloseReason(code: 4008, reason: "too_far_behind", grace: grace)
    }
    /// This node may have missed updates (it was cut off from the other nodes for a while): the
    /// client reconnects at once and resumes from its positions in the update log, which has them.
    public static let catchUp = ConnectionCloseReason(code: 4009, reason: "catch_up")
    /// The node is shutting down (a restart, a deploy): reconnect at once, to another node behind
    /// the same address, and resume. WebSocket's own 1012, "service restart".
    public static let serviceRestart = ConnectionCloseReason(code: 1012, reason: "service_restart")
    /// The device did not answer the server's ping within the ping interval: it is gone (a phone
    /// that lost its network without closing) or hung. WebSocket's own 1001, "going away".
    public static let pingTimeout = ConnectionCloseReason(code: 1001, reason: "ping_timeout")
    /// The server cannot serve the connection right now (a limit filled up during the handshake,
    /// the database did not answer): reconnect after a moment. WebSocket's own 1013.
    public static let tryAgainLater = ConnectionCloseReason(code: 1013, reason: "try_again_later")

    /// The close for an access token refused with `code`: expired (refresh and reconnect) or
    /// anything else (sign in again).
    public static func refusedToken(code: String) -> ConnectionCloseReason {
        code == "token_expired" ? .tokenExpired : .sessionRevoked
    }
}

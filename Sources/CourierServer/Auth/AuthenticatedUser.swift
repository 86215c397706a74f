import Foundation

/// Who is making a request: the account and the device session its access token belongs to.
public struct AuthenticatedUser: Sendable, Equatable {
    public let userID: UUID
    public let sessionID: UUID

    public init(userID: UUID, sessionID: UUID) {
        self.userID = userID
        self.sessionID = sessionID
    }
}

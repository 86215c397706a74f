import Foundation

/// One signed-in device: created at login or registration, extended by each token refresh,
/// ended by logout, by signing it out from another device, or by refresh-token reuse.
public struct DeviceSession: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var userID: UUID
    public var deviceName: String?
    public var ipAddress: String?
    public var createdAt: Timestamp
    public var lastSeenAt: Timestamp
    public var expiresAt: Timestamp
    public var revokedAt: Timestamp?

    public init(
        id: UUID, userID: UUID, deviceName: String?, ipAddress: String?, createdAt: Timestamp,
        lastSeenAt: Timestamp, expiresAt: Timestamp, revokedAt: Timestamp?
    ) {
        self.id = id
        self.userID = userID
        self.deviceName = deviceName
        self.ipAddress = ipAddress
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// Whether tokens of this session may still be used at `time`.
    public func isActive(at time: Timestamp) -> Bool {
        revokedAt == nil && time < expiresAt
    }
}

import Foundation

/// One server-to-client frame on its way to the connected devices of some users.
///
/// The frame is JSON encoded once, when the event happens, and the same text goes to every
/// recipient: fan-out never re-encodes.
public struct Delivery: Sendable, Codable, Equatable {
    /// The users whose connections receive the frame.
    public var recipients: [UUID]
    /// The frame's JSON text.
    public var frame: String
    /// For an update of the log: its stream and position, so a resuming connection can drop what
    /// catching up already sent.
    public var position: UpdatePosition?
    /// A connection that must not receive it (the one that caused it, which gets an ack instead).
    public var excludedConnection: UUID?
    /// Which of the recipients' devices get it: all (nil), only some sessions, or all but some
    /// (a call's frames go to the two devices in it once answered).
    public var sessions: SessionFilter?

    public init(
        recipients: [UUID], frame: String, position: UpdatePosition? = nil, excludedConnection: UUID? = nil, sessions: SessionFilter? = nil
    ) {
        self.recipients = recipients
        self.frame = frame
        self.position = position
        self.excludedConnection = excludedConnection
        self.sessions = sessions
    }
}

/// Device sessions a delivery is limited to, or kept from.
public enum SessionFilter: Sendable, Codable, Equatable {
    case only(Set<UUID>)
    case allBut(Set<UUID>)

    public func admits(_ session: UUID) -> Bool {
        switch self {
        case .only(let sessions): sessions.contains(session)
        case .allBut(let sessions): !sessions.contains(session)
        }
    }
}

/// An update's place in the log: its stream (a chat's id, or a person's id for their own log) and
/// its position `pts` there.
public struct UpdatePosition: Sendable, Hashable, Codable {
    public var stream: UUID
    public var pts: Int64

    public init(stream: UUID, pts: Int64) {
        self.stream = stream
        self.pts = pts
    }
}

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

    public init(recipients: [UUID], frame: String, position: UpdatePosition? = nil, excludedConnection: UUID? = nil) {
        self.recipients = recipients
        self.frame = frame
        self.position = position
        self.excludedConnection = excludedConnection
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

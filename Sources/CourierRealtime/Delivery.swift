import Foundation

/// One server-to-client frame on its way to the connected devices of some users.
///
/// The frame is JSON encoded once, when the event happens, and the same text goes to every
/// recipient: fan-out never re-encodes.
public struct Delivery: Sendable {
    /// The users whose connections receive the frame.
    public var recipients: [UUID]
    /// The frame's JSON text.
    public var frame: String
    /// For `new_message`: the chat and `seq`, so a resuming connection can drop what it already sent.
    public var sequence: ChatSequence?
    /// A connection that must not receive it (the one that caused it, which gets an ack instead).
    public var excludedConnection: UUID?

    public init(recipients: [UUID], frame: String, sequence: ChatSequence? = nil, excludedConnection: UUID? = nil) {
        self.recipients = recipients
        self.frame = frame
        self.sequence = sequence
        self.excludedConnection = excludedConnection
    }
}

/// A message's position: its chat and `seq`.
public struct ChatSequence: Sendable, Hashable, Codable {
    public var chatID: UUID
    public var seq: Int64

    public init(chatID: UUID, seq: Int64) {
        self.chatID = chatID
        self.seq = seq
    }
}

import Foundation

/// A one-to-one voice or video call in a DM, from the invite to its end.
///
/// Its state lives in the database, so a device that reconnects (to any node) finds it again. Each
/// side is a person's device session: frames of an answered call go to those two sessions only.
public struct Call: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var chatID: UUID
    public var callerID: UUID
    public var calleeID: UUID
    /// The caller's device session (the one that placed the call).
    public var callerSession: UUID
    /// The callee's device session that answered; nil until then.
    public var calleeSession: UUID?
    public var video: Bool
    public var state: CallState
    public var outcome: CallOutcome?
    public var createdAt: Timestamp
    public var acceptedAt: Timestamp?
    public var endedAt: Timestamp?

    public init(
        id: UUID, chatID: UUID, callerID: UUID, calleeID: UUID, callerSession: UUID, calleeSession: UUID? = nil, video: Bool,
        state: CallState, outcome: CallOutcome? = nil, createdAt: Timestamp, acceptedAt: Timestamp? = nil, endedAt: Timestamp? = nil
    ) {
        self.id = id
        self.chatID = chatID
        self.callerID = callerID
        self.calleeID = calleeID
        self.callerSession = callerSession
        self.calleeSession = calleeSession
        self.video = video
        self.state = state
        self.outcome = outcome
        self.createdAt = createdAt
        self.acceptedAt = acceptedAt
        self.endedAt = endedAt
    }

    /// The other person of the call, for one of its two.
    public func peer(of userID: UUID) -> UUID { userID == callerID ? calleeID : callerID }

    public func isParticipant(_ userID: UUID) -> Bool { userID == callerID || userID == calleeID }

    /// Seconds talked: from the answer to the end (0 for a call never answered).
    public var durationSeconds: Int64 {
        guard let acceptedAt, let endedAt else { return 0 }
        return max(0, (endedAt.milliseconds - acceptedAt.milliseconds) / 1000)
    }
}

/// Where a call stands.
public enum CallState: String, Sendable, Codable {
    /// Invited; every device of the callee rings.
    case ringing
    /// Answered by one of the callee's devices.
    case active
    case ended
}

/// How a call ended.
public enum CallOutcome: String, Sendable, Codable, CaseIterable {
    /// Answered, then hung up by either side.
    case completed
    /// Nobody answered within the ringing time.
    case missed
    /// The callee declined.
    case declined
    /// The caller hung up before an answer.
    case cancelled
    /// The callee was in another call.
    case busy
    /// A side's device stopped answering during the call.
    case lost

    /// The call's line in the DM's history, the same for both sides (clients word it for their side).
    public func summary(video: Bool, durationSeconds: Int64) -> String {
        let kind = video ? "Video call" : "Call"
        switch self {
        case .completed, .lost:
            let minutes = durationSeconds / 60, seconds = durationSeconds % 60
            return "\(kind) · \(minutes):\(seconds < 10 ? "0" : "")\(seconds)"
        case .missed: return "Missed \(kind.lowercased())"
        case .declined: return "Declined \(kind.lowercased())"
        case .cancelled: return "Cancelled \(kind.lowercased())"
        case .busy: return "Missed \(kind.lowercased()) (busy)"
        }
    }
}

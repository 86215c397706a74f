import Foundation

/// One entry of the security audit log.
public struct AuditEntry: Sendable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        case success, failure, denied
    }

    /// Position in the log; entries are chained in this order.
    public var seq: Int64
    public var id: UUID
    public var occurredAt: Timestamp
    /// Who did it (nil: someone not signed in, or the operator's CLI).
    public var actorID: UUID?
    /// Whose account it concerns: they see it in their own audit view.
    public var subjectID: UUID?
    /// What happened, e.g. `login`, `token_refresh`, `access_denied`, `key_rotation`.
    public var action: String
    public var outcome: Outcome
    public var ipAddress: String?
    /// Context without content: ids, paths, reasons. Never passwords, tokens or message text.
    public var details: [String: String]
    public var previousHash: String
    public var hash: String

    public init(
        seq: Int64, id: UUID, occurredAt: Timestamp, actorID: UUID?, subjectID: UUID?, action: String, outcome: Outcome,
        ipAddress: String?, details: [String: String], previousHash: String, hash: String
    ) {
        self.seq = seq
        self.id = id
        self.occurredAt = occurredAt
        self.actorID = actorID
        self.subjectID = subjectID
        self.action = action
        self.outcome = outcome
        self.ipAddress = ipAddress
        self.details = details
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// Thrown by a `DatabaseEngine.write` body that refuses its work before any statement of it
/// changed anything (the sender may not post there, say).
///
/// SQLite's group commit then goes on with the other writers of the batch, without the rollback
/// and second commit a failed writer costs, so a flood of refused requests cannot slow everyone
/// else's writes. On PostgreSQL the transaction is rolled back as for any error. The caller of
/// `write` gets the `WriteRefused`; the repository that threw it hands on its `reason`.
public struct WriteRefused: Error, Sendable {
    public let reason: any Error

    public init(_ reason: any Error) {
        self.reason = reason
    }
}

/// Thrown by a `DatabaseEngine.write` body that refuses its work before any statement of it
/// changed anything (the sender may not post there, say).
///
/// SQLite's group commit then goes on with the other writers of the batch, without the rollback
/// and second commit a failed writer costs, so a flood of refused requests cannot slow everyone
/// else's writes. On PostgreSQL the transaction is rolled back as for any error. The caller of
/// `write` gets the `WriteRefused`; the repository that threw it hands on its `reason`.
///
/// A body that wrote something and then throws it would have that committed with its batch on
/// SQLite: only the store's own repositories throw it (package access), each before its first
/// statement that changes anything.
package struct WriteRefused: Error, Sendable {
    package let reason: any Error

    package init(_ reason: any Error) {
        self.reason = reason
    }
}

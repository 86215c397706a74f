import SQLKit

/// The SQL dialects Courier runs on. Queries are written once; the few statements that differ
/// (column types, locking) branch on this.
public enum SQLEngineKind: String, Sendable {
    case sqlite
    case postgres
}

/// A connection source for one database, embedded or remote.
///
/// Everything above the engine speaks SQLKit, so the same repositories and migrations run on
/// SQLite and PostgreSQL. `write` runs its body in one transaction: it commits when the body
/// returns and rolls back when it throws, so a failed request never leaves half its changes.
public protocol DatabaseEngine: Sendable {
    var kind: SQLEngineKind { get }

    /// Runs `body` with a connection for reading. Several reads may run at once.
    func read<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result

    /// Runs `body` inside a transaction on a connection for writing, returning once it is committed.
    /// An engine may commit several callers' transactions together (SQLite does); each still
    /// succeeds or fails as a whole.
    func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result

    /// Runs `body`, which makes exactly one statement, as a write that commits by itself.
    /// PostgreSQL runs it without `BEGIN` and `COMMIT` around it (one statement is atomic on its
    /// own): two round trips fewer, and no row lock held across them. SQLite runs it as `write`.
    func writeOneStatement<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result

    /// Checks that the database answers.
    func ping() async throws

    /// Closes every connection. The engine must not be used afterwards.
    func close() async throws
}

extension DatabaseEngine {
    public func writeOneStatement<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await write(body)
    }

    public func ping() async throws {
        try await read { try await $0.raw("SELECT 1").run() }
    }
}

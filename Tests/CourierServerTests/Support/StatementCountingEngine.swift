import CourierStore
import Logging
import NIOCore
import SQLKit
import Synchronization

/// The statements and transactions a piece of work costs, counted as they reach the engine.
///
/// A count does not depend on the machine's speed, so a ceiling on it holds on a noisy CI machine
/// where a timed target would not: a change that adds a statement to the send path fails a test.
final class StatementCounter: Sendable {
    struct Counts: Sendable, Equatable {
        var statements = 0
        var reads = 0
        var writes = 0
        /// Writes of one statement committed by itself (`DatabaseEngine.writeOneStatement`; on
        /// PostgreSQL without `BEGIN` and `COMMIT`, on SQLite a write transaction).
        var alone = 0
    }

    private let counts = Mutex(Counts())
    /// While set, the query plan of each SQLite query (`SELECT`, `INSERT`, `UPDATE`, `DELETE`,
    /// `WITH`) is read too (`EXPLAIN QUERY PLAN`, run after it on the same connection), by its text.
    private let planning = Atomic(false)
    private let plans = Mutex<[String: [String]]>([:])

    var recordsPlans: Bool {
        get { planning.load(ordering: .relaxed) }
        set { planning.store(newValue, ordering: .relaxed) }
    }

    /// The plans read so far (`recordsPlans`): each statement's text and its plan's lines.
    var queryPlans: [String: [String]] { plans.withLock { $0 } }

    var current: Counts { counts.withLock { $0 } }

    /// What `work` cost, including what it leaves running after it returns (a send's fan-out reads
    /// the members after the sender has its answer): the counts are taken once nothing has reached
    /// the database for a while, before and after.
    func cost(of work: () async throws -> Void) async throws -> Counts {
        try await settled()
        let before = current
        try await work()
        try await settled()
        let after = current
        return Counts(
            statements: after.statements - before.statements, reads: after.reads - before.reads, writes: after.writes - before.writes,
            alone: after.alone - before.alone
        )
    }

    /// Returns once the counts have not moved for `quiet` (at most after 10 s).
    private func settled(quiet: Duration = .milliseconds(300)) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        var last = current
        var since = ContinuousClock.now
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(25))
            let now = current
            if now != last {
                last = now
                since = ContinuousClock.now
            } else if ContinuousClock.now - since >= quiet {
                return
            }
        }
    }

    fileprivate func record(plan: [String], of sql: String) { plans.withLock { $0[sql] = plan } }
    fileprivate func countStatement() { counts.withLock { $0.statements += 1 } }
    fileprivate func countRead() { counts.withLock { $0.reads += 1 } }
    fileprivate func countWrite() { counts.withLock { $0.writes += 1 } }
    fileprivate func countAlone() { counts.withLock { $0.alone += 1 } }
}

/// An engine that hands its bodies a database counting each statement, and counts the reads,
/// write transactions and writes of one statement (a write body that runs twice, after a
/// batch-mate failed, counts twice).
struct StatementCountingEngine: DatabaseEngine {
    let base: any DatabaseEngine
    let counter: StatementCounter

    var kind: SQLEngineKind { base.kind }

    func read<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        counter.countRead()
        return try await base.read { try await body(CountingDatabase(base: $0, counter: counter)) }
    }

    func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        let counter = counter
        return try await base.write { sql in
            counter.countWrite()
            return try await body(CountingDatabase(base: sql, counter: counter))
        }
    }

    func writeOneStatement<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        let counter = counter
        return try await base.writeOneStatement { sql in
            counter.countAlone()
            return try await body(CountingDatabase(base: sql, counter: counter))
        }
    }

    func close() async throws { try await base.close() }
}

private struct CountingDatabase: SQLDatabase {
    let base: any SQLDatabase
    let counter: StatementCounter

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        counter.countStatement()
        return base.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        counter.countStatement()
        try await base.execute(sql: query, onRow)
        if counter.recordsPlans, base.dialect.name == "sqlite" { try await recordPlan(of: query) }
    }

    private func recordPlan(of query: any SQLExpression) async throws {
        var serializer = SQLSerializer(database: base)
        query.serialize(to: &serializer)
        let verb = serializer.sql.drop(while: \.isWhitespace).prefix(6).uppercased()
        guard ["SELECT", "INSERT", "UPDATE", "DELETE"].contains(verb) || verb.hasPrefix("WITH") else { return }
        let lines = Mutex<[String]>([])
        try await base.execute(sql: ExplainedQuery(query: query)) { row in
            if let detail = try? row.decode(column: "detail", as: String.self) { lines.withLock { $0.append(detail) } }
        }
        counter.record(plan: lines.withLock { $0 }, of: serializer.sql)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let counter = counter
        return try await base.withSession { try await closure(CountingDatabase(base: $0, counter: counter)) }
    }
}

/// `EXPLAIN QUERY PLAN` before a statement: SQLite answers with the plan's lines instead of running it.
private struct ExplainedQuery: SQLExpression {
    let query: any SQLExpression

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("EXPLAIN QUERY PLAN ")
        query.serialize(to: &serializer)
    }
}

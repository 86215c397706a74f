import SQLKit
import SQLiteKit

/// Runs SQLite write transactions on the one writer connection, folding every transaction that
/// queued up while the previous commit was on its way to disk into a single transaction.
///
/// With `synchronous=FULL` each commit waits for the disk to flush, so one commit per message
/// caps throughput at the disk's flush rate. Here many senders share a commit (group commit),
/// while each keeps its own all-or-nothing outcome: every transaction runs inside a savepoint,
/// and one that fails is rolled back to it without touching the others. Callers still hear back
/// only after the commit that holds their work is durable.
actor GroupCommitWriter {
    /// Transactions one commit takes at most, so a flood of writers cannot grow a batch without bound.
    static let maximumBatch = 256

    private let pool: ConnectionPool<SQLiteConnection>
    private var queue: [any GroupedWrite] = []
    private var draining = false

    init(pool: ConnectionPool<SQLiteConnection>) {
        self.pool = pool
    }

    /// Runs `body` in a transaction and returns its result once that transaction is committed.
    func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(PendingWrite(body: body, continuation: continuation))
        }
    }

    private func enqueue(_ job: any GroupedWrite) {
        queue.append(job)
        guard !draining else { return }
        draining = true
        Task { await drain() }
    }

    /// Commits batches until nothing is waiting. Writers that arrive meanwhile join the next batch:
    /// the actor is free while a batch awaits the database.
    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(Self.maximumBatch))
            queue.removeFirst(batch.count)
            await commit(batch)
        }
        draining = false
    }

    private func commit(_ batch: [any GroupedWrite]) async {
        do {
            try await pool.withConnection { connection in
                let sql = connection.sql(queryLogLevel: nil)
                // IMMEDIATE takes the write lock at BEGIN, so the transaction never fails half-way for a lock.
                try await sql.raw("BEGIN IMMEDIATE").run()
                do {
                    if batch.count == 1 {
                        try await batch[0].run(on: sql)
                    } else {
                        for job in batch {
                            try await sql.raw("SAVEPOINT grouped").run()
                            do {
                                try await job.run(on: sql)
                                try await sql.raw("RELEASE SAVEPOINT grouped").run()
                            } catch {
                                try await sql.raw("ROLLBACK TO SAVEPOINT grouped").run()
                                try await sql.raw("RELEASE SAVEPOINT grouped").run()
                            }
                        }
                    }
                    try await sql.raw("COMMIT").run()
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
            }
            for job in batch { job.finish(committed: nil) }
        } catch {
            for job in batch { job.finish(committed: error) }
        }
    }
}

/// A queued transaction, its result type erased so different writes can share a batch.
protocol GroupedWrite: Sendable {
    /// Runs the transaction's statements; throws when they failed (and must be rolled back).
    func run(on sql: any SQLDatabase) async throws
    /// Reports the outcome: the body's result or error, or `committed`, the error that lost the whole batch.
    func finish(committed: (any Error)?)
}

/// One caller's transaction and the continuation waiting for it. Used by one batch at a time: `run`
/// then `finish`, never concurrently.
final class PendingWrite<Result: Sendable>: GroupedWrite, @unchecked Sendable {
    private let body: @Sendable (any SQLDatabase) async throws -> Result
    private let continuation: CheckedContinuation<Result, any Error>
    private var outcome: Swift.Result<Result, any Error>?

    init(body: @escaping @Sendable (any SQLDatabase) async throws -> Result, continuation: CheckedContinuation<Result, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(on sql: any SQLDatabase) async throws {
        do {
            outcome = .success(try await body(sql))
        } catch {
            outcome = .failure(error)
            throw error
        }
    }

    func finish(committed error: (any Error)?) {
        switch (outcome, error) {
        case (.failure(let own)?, _): continuation.resume(throwing: own)
        case (_, let error?): continuation.resume(throwing: error)
        case (.success(let result)?, nil): continuation.resume(returning: result)
        case (nil, nil): continuation.resume(throwing: CancellationError())
        }
    }
}

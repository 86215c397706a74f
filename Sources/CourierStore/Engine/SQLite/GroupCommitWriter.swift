import Logging
import SQLKit

/// Runs SQLite write transactions on the one writer connection, folding every transaction that
/// queued up while the previous commit was on its way to disk into a single transaction.
///
/// With `synchronous=FULL` each commit waits for the disk to flush, so one commit per message
/// caps throughput at the disk's flush rate. Here many senders share a commit (group commit),
/// while each keeps its own all-or-nothing outcome (see `commit`). Callers hear back only after
/// the commit that holds their work is durable.
///
/// The actor is isolated to the writer connection's thread, and each batch runs there from
/// `BEGIN` to `COMMIT`: the bodies prefer that thread as their task executor, so their statements
/// run without a thread switch (see `SQLiteThread`).
///
/// A writer's body may run more than once (after a batch-mate failed), always in a fresh
/// transaction: bodies must only act on the database, as every `DatabaseEngine.write` body does.
actor GroupCommitWriter {
    /// Transactions one commit takes at most, so a flood of writers cannot grow a batch without bound.
    static let maximumBatch = 256

    private let connection: SQLiteDirectConnection
    private let database: SQLiteDirectDatabase
    private let logger: Logger
    /// How far the write-ahead log may grow before the writer copies it back itself (see
    /// `copyLogBackWhenLong`).
    private let logCopyFrames: Int
    /// The log's length when the writer last copied it back (0 after the log started over).
    private var framesAtLastCopy = 0
    private var queue: [any GroupedWrite] = []
    /// The batches being committed, while there are any; `finish` waits for it.
    private var draining: Task<Void, Never>?
    /// Hears each commit's batch size (metrics); nil when nobody listens.
    private var batchObserver: (@Sendable (Int) -> Void)?

    init(connection: SQLiteDirectConnection, logCopyFrames: Int, logger: Logger) {
        self.connection = connection
        self.database = SQLiteDirectDatabase(connection: connection, logger: logger)
        self.logger = logger
        self.logCopyFrames = logCopyFrames
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        connection.thread.serialExecutor.asUnownedSerialExecutor()
    }

    func observeBatches(_ observer: @escaping @Sendable (Int) -> Void) {
        batchObserver = observer
    }

    /// Runs `body` in a transaction and returns its result once that transaction is committed.
    func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(PendingWrite(body: body, continuation: continuation))
        }
    }

    /// Returns once the transactions queued so far are committed (or failed).
    func finish() async {
        while let draining { await draining.value }
    }

    private func enqueue(_ job: any GroupedWrite) {
        queue.append(job)
        guard draining == nil else { return }
        draining = Task(executorPreference: connection.thread.taskExecutor) { await self.drain() }
    }

    /// Commits batches until nothing is waiting. Writers that arrive meanwhile join the next batch:
    /// the actor is free while a batch awaits the database.
    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(Self.maximumBatch))
            queue.removeFirst(batch.count)
            batchObserver?(batch.count)
            await commit(batch)
            await copyLogBackWhenLong()
        }
        draining = nil
    }

    /// Copies the write-ahead log back into the database when it grew by `logCopyFrames` since
    /// the last time, between two batches.
    ///
    /// The background checkpoint copies most of the log, but under a steady stream of commits it
    /// never reaches the log's end, and SQLite starts the log over only once all of it was copied:
    /// at 500 msg/s the log grew by 38 MB a second, to 2.2 GB in a minute, and every read searched a
    /// longer log index. Here no commit runs beside the copy, so it reaches the end (the background
    /// has done most of it) and the next transaction starts the log over.
    private func copyLogBackWhenLong() async {
        let frames = connection.logFrames
        if frames < framesAtLastCopy { framesAtLastCopy = 0 }
        guard frames - framesAtLastCopy >= logCopyFrames else { return }
        framesAtLastCopy = frames
        do {
            _ = try await database.raw("PRAGMA wal_checkpoint(PASSIVE)").all()
        } catch {
            logger.warning("copying the log back failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs the batch as one transaction. Failures are rare (a repeated `client_msg_id`, a chat
    /// deleted meanwhile), so the common path spends nothing on isolating writers from each other.
    /// When a writer's own statements fail, the whole transaction is rolled back, that writer keeps
    /// its failure (the writers before it ran as they will run again, in the same order), and the
    /// others try again together: k failures cost k + 1 commits.
    private func commit(_ batch: [any GroupedWrite]) async {
        var pending = batch
        var failed: [any GroupedWrite] = []
        // Writers that failed hear back last, once the others are committed: a repeated
        // `client_msg_id` must find the first message stored when its writer looks for it.
        defer { for job in failed { job.finish(committed: nil) } }
        while true {
            guard let error = await transaction(pending) else {
                for job in pending { job.finish(committed: nil) }
                return
            }
            let failedNow = pending.filter(\.failed)
            guard !failedNow.isEmpty, pending.count > failedNow.count else {
                // Only failed writers, or a failure that is nobody's own (the commit, the connection).
                for job in pending { job.finish(committed: error) }
                return
            }
            failed += failedNow
            pending.removeAll(where: \.failed)
        }
    }

    /// Runs `jobs` in one transaction; nil when it committed, else the error that rolled it back.
    private func transaction(_ jobs: [any GroupedWrite]) async -> (any Error)? {
        let sql = database
        do {
            // IMMEDIATE takes the write lock at BEGIN, so the transaction never fails half-way for a lock.
            try await sql.raw("BEGIN IMMEDIATE").run()
            do {
                for job in jobs { try await job.run(on: sql) }
                try await sql.raw("COMMIT").run()
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
            return nil
        } catch {
            return error
        }
    }
}

/// A queued transaction, its result type erased so different writes can share a batch.
protocol GroupedWrite: Sendable {
    /// Runs the transaction's statements; throws when they failed (and must be rolled back). May be
    /// called again after a rollback; the last run's outcome counts.
    func run(on sql: any SQLDatabase) async throws
    /// Whether the last run's statements failed.
    var failed: Bool { get }
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

    var failed: Bool {
        if case .failure = outcome { true } else { false }
    }

    func run(on sql: any SQLDatabase) async throws {
        outcome = nil
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

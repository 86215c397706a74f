import Logging
import NIOCore
import SQLKit
import Synchronization
import SQLiteKit

/// The embedded default: one SQLite file in WAL mode.
///
/// WAL lets readers run beside the single writer, so the engine keeps one writer connection (every
/// transaction goes through it, in order; those that queue up share a commit, see
/// `GroupCommitWriter`) and a few reader connections.
///
/// Each connection has a thread of its own (`SQLiteThread`), never an event loop nor a thread
/// shared with other work: every write of the node passes through the writer, so a statement of it
/// must never wait behind reads or a bcrypt hash. A read or write body runs on its connection's
/// thread from start to end (the body prefers that thread as its task executor), so its statements
/// run there directly, with statements prepared once per connection (`SQLiteDirectConnection`),
/// instead of three thread switches per statement.
///
/// The write-ahead log is copied back into the database file by a connection of its own, in the
/// background (`checkpointInterval`), never by a commit: SQLite's automatic checkpoint runs in the
/// commit that crosses its threshold, and with `synchronous=FULL` that commit waited for the copy
/// and its `fsync`, with every send of the node queued behind it.
public final class SQLiteEngine: DatabaseEngine {
    public let kind = SQLEngineKind.sqlite
    public let path: String
    private let writer: SQLiteDirectConnection
    private let readers: ConnectionPool<SQLiteDirectConnection>
    private let committer: GroupCommitWriter
    private let checkpointing: SQLiteDirectConnection
    private let checkpointer: Task<Void, Never>
    private let logger: Logger
    /// Reads and writes under way, and whether `close` began: a connection closes only once
    /// nothing is using it, and nothing starts after that (its thread is gone).
    private let gate = Mutex(Gate())

    private struct Gate {
        var closed = false
        var inFlight = 0
        /// `close`, waiting for the last one to leave.
        var closer: CheckedContinuation<Void, Never>?
    }
    /// How often the background checkpoint runs (`PASSIVE`: it copies what it can without waiting
    /// for readers or blocking the writer).
    public static let checkpointInterval = Duration.milliseconds(500)
    /// What the log file is cut back to once it was copied whole (SQLite then starts it over).
    static let logSizeLimit = 64 << 20

    /// What a read or write of a closed engine throws.
    public struct ClosedError: Error, CustomStringConvertible {
        public var description: String { "the SQLite database was closed" }
    }

    private init(
        path: String, writer: SQLiteDirectConnection, readers: [SQLiteDirectConnection], checkpointing: SQLiteDirectConnection,
        logCopyFrames: Int, logger: Logger
    ) {
        self.path = path
        self.writer = writer
        self.readers = ConnectionPool(readers)
        self.logger = logger
        self.committer = GroupCommitWriter(connection: writer, logCopyFrames: logCopyFrames, logger: logger)
        self.checkpointing = checkpointing
        self.checkpointer = Task {
            let sql = SQLiteDirectDatabase(connection: checkpointing, logger: logger)
            while (try? await Task.sleep(for: Self.checkpointInterval)) != nil {
                do {
                    _ = try await sql.raw("PRAGMA wal_checkpoint(PASSIVE)").all()
                } catch {
                    logger.warning("background checkpoint failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Opens (creating if needed) the database file at `path`.
    ///
    /// - Parameters:
    ///   - logCopyFrames: how many pages the write-ahead log may grow by before the writer copies
    ///     it back between two batches (4 MB at SQLite's 4 KB pages; tests make it small). At 2,500 msg/s
    ///     a 4 MB log cut the typical second's p99 by about 40 % against 16 MB (the copies are
    ///     shorter, each read searches a shorter log index); 64 MB made it half as long again.
    public static func open(path: String, readerCount: Int = 4, logCopyFrames: Int = 1024, logger: Logger) async throws -> SQLiteEngine {
        // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database
        // file's mode, so no file of the database is ever readable by others.
        if path != ":memory:" {
            try PrivateFile.secure(path)
            for journal in ["-wal", "-shm", "-journal"] { try PrivateFile.narrowIfPresent(path + journal) }
        }
        var opened: [SQLiteDirectConnection] = []
        do {
            let writer = try await openConnection(path: path, name: "sqlite-writer", logger: logger)
            opened.append(writer)
            // WAL is a property of the file: set it once, on the writer, before any reader opens it.
            // Commits never checkpoint (the background does), and a log copied whole is cut back.
            let sql = SQLiteDirectDatabase(connection: writer, logger: logger)
            for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA wal_autocheckpoint=0", "PRAGMA journal_size_limit=\(logSizeLimit)"] {
                _ = try await sql.raw(SQLQueryString(pragma)).all()
            }
            try await writer.thread.run { writer.watchLog() }
            var readers: [SQLiteDirectConnection] = []
            for index in 0..<max(1, readerCount) {
                readers.append(try await openConnection(path: path, name: "sqlite-reader-\(index)", logger: logger))
                opened.append(readers[index])
            }
            let checkpointing = try await openConnection(path: path, name: "sqlite-checkpt", logger: logger)
            return SQLiteEngine(
                path: path, writer: writer, readers: readers, checkpointing: checkpointing, logCopyFrames: logCopyFrames, logger: logger
            )
        } catch {
            for connection in opened { try? await connection.close() }
            throw error
        }
    }

    private static func openConnection(path: String, name: String, logger: Logger) async throws -> SQLiteDirectConnection {
        let connection = try await SQLiteDirectConnection.open(path: path, name: name)
        let sql = SQLiteDirectDatabase(connection: connection, logger: logger)
        do {
            // Wait for a lock instead of failing at once; FULL makes a commit durable before it returns,
            // which is what "persisted before acknowledged" needs.
            for pragma in ["PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000", "PRAGMA synchronous=FULL"] {
                try await sql.raw(SQLQueryString(pragma)).run()
            }
        } catch {
            try? await connection.close()
            throw error
        }
        return connection
    }

    /// Reports the size of every group commit (how many transactions shared it) to `observer`.
    public func observeGroupCommits(_ observer: @escaping @Sendable (Int) -> Void) async throws {
        try enter()
        defer { leave() }
        await committer.observeBatches(observer)
    }

    /// Statements prepared so far by all of the engine's connections: each distinct statement once
    /// per connection, then reused (a regression guard counts it).
    public func preparedStatementCount() async throws -> Int {
        try enter()
        defer { leave() }
        var total = try await writer.thread.run { [writer] in writer.preparedCount }
        for reader in await readers.all {
            total += try await reader.thread.run { reader.preparedCount }
        }
        return total
    }

    /// Pages the writer's commits have written to the write-ahead log since the engine opened: what
    /// a transaction costs the disk, counted (a regression guard counts it per message sent).
    public func pagesWrittenToTheLog() async throws -> Int {
        try enter()
        defer { leave() }
        return try await writer.thread.run { [writer] in writer.framesLogged }
    }

    public func read<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try enter()
        defer { leave() }
        let logger = logger
        return try await readers.withConnection { connection in
            try await withTaskExecutorPreference(connection.thread.taskExecutor) {
                try await body(SQLiteDirectDatabase(connection: connection, logger: logger))
            }
        }
    }

    public func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try enter()
        defer { leave() }
        return try await committer.write(body)
    }

    private func enter() throws {
        try gate.withLock { gate in
            guard !gate.closed else { throw ClosedError() }
            gate.inFlight += 1
        }
    }

    private func leave() {
        let closer = gate.withLock { gate -> CheckedContinuation<Void, Never>? in
            gate.inFlight -= 1
            guard gate.inFlight == 0 else { return nil }
            defer { gate.closer = nil }
            return gate.closer
        }
        closer?.resume()
    }

    /// Closes the connections and stops the engine's threads once the reads and writes under way
    /// have ended; later ones throw `ClosedError`. Closing again does nothing.
    public func close() async throws {
        let first = gate.withLock { gate -> Bool in
            defer { gate.closed = true }
            return !gate.closed
        }
        guard first else { return }
        checkpointer.cancel()
        await checkpointer.value
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = gate.withLock { gate -> Bool in
                if gate.inFlight == 0 { return true }
                gate.closer = continuation
                return false
            }
            if idle { continuation.resume() }
        }
        // A batch's drain may still be on its way out after its writers heard back.
        await committer.finish()
        for connection in await [writer] + readers.all + [checkpointing] {
            try await connection.close()
        }
    }
}

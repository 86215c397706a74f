import Logging
import NIOCore
import NIOPosix
import SQLKit
import Synchronization
import SQLiteKit

/// The embedded default: one SQLite file in WAL mode.
///
/// WAL lets readers run beside the single writer, so the engine keeps one writer connection (every
/// transaction goes through it, in order; those that queue up share a commit, see
/// `GroupCommitWriter`) and a few reader connections.
///
/// Statements run on threads of the engine's own, never on an event loop: the writer on a thread
/// of its own, the readers on one each. Every write of the node passes through the writer one
/// statement after another, so a statement of it must never wait for a thread behind reads, nor
/// behind a bcrypt hash (NIO's shared pool, where SQLiteNIO runs by default, has two threads here
/// and also hashes passwords: while two sign-ins hashed at cost 12, every statement waited).
///
/// The write-ahead log is copied back into the database file by a connection of its own, in the
/// background (`checkpointInterval`), never by a commit: SQLite's automatic checkpoint runs in the
/// commit that crosses its threshold, and with `synchronous=FULL` that commit waited for the copy
/// and its `fsync`, with every send of the node queued behind it.
public final class SQLiteEngine: DatabaseEngine {
    public let kind = SQLEngineKind.sqlite
    public let path: String
    private let writer: ConnectionPool<SQLiteConnection>
    private let readers: ConnectionPool<SQLiteConnection>
    private let committer: GroupCommitWriter
    private let threads: [NIOThreadPool]
    private let checkpointing: SQLiteConnection
    private let checkpointer: Task<Void, Never>
    /// Set by `close`: the engine's threads are gone, so a statement must not be started.
    private let isClosed = Atomic(false)
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
        path: String, writer: ConnectionPool<SQLiteConnection>, readers: ConnectionPool<SQLiteConnection>, checkpointing: SQLiteConnection,
        threads: [NIOThreadPool], logger: Logger
    ) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.committer = GroupCommitWriter(pool: writer)
        self.threads = threads
        self.checkpointing = checkpointing
        self.checkpointer = Task {
            let sql = checkpointing.sql(queryLogLevel: nil)
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
    public static func open(path: String, readerCount: Int = 4, logger: Logger) async throws -> SQLiteEngine {
        // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database
        // file's mode, so no file of the database is ever readable by others.
        if path != ":memory:" {
            try PrivateFile.secure(path)
            for journal in ["-wal", "-shm", "-journal"] { try PrivateFile.narrowIfPresent(path + journal) }
        }
        let writerThread = NIOThreadPool(numberOfThreads: 1)
        let readerThreads = NIOThreadPool(numberOfThreads: max(1, readerCount))
        let checkpointThread = NIOThreadPool(numberOfThreads: 1)
        let threads = [writerThread, readerThreads, checkpointThread]
        threads.forEach { $0.start() }
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await openConnection(path: path, on: writerThread, logger: logger)
            opened.append(writer)
            // WAL is a property of the file: set it once, on the writer, before any reader opens it.
            // Commits never checkpoint (the background does), and a log copied whole is cut back.
            for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA wal_autocheckpoint=0", "PRAGMA journal_size_limit=\(logSizeLimit)"] {
                _ = try await writer.sql(queryLogLevel: nil).raw(SQLQueryString(pragma)).all()
            }
            for _ in 0..<max(1, readerCount) {
                opened.append(try await openConnection(path: path, on: readerThreads, logger: logger))
            }
            let checkpointing = try await openConnection(path: path, on: checkpointThread, logger: logger)
            return SQLiteEngine(
                path: path, writer: ConnectionPool([writer]), readers: ConnectionPool(Array(opened.dropFirst())), checkpointing: checkpointing,
                threads: threads, logger: logger
            )
        } catch {
            for connection in opened { try? await connection.close() }
            for pool in threads { try? await pool.shutdownGracefully() }
            throw error
        }
    }

    private static func openConnection(path: String, on threads: NIOThreadPool, logger: Logger) async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path), threadPool: threads, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any()
        )
        let sql = connection.sql(queryLogLevel: nil)
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
    public func observeGroupCommits(_ observer: @escaping @Sendable (Int) -> Void) async {
        await committer.observeBatches(observer)
    }

    public func read<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        guard !isClosed.load(ordering: .acquiring) else { throw ClosedError() }
        return try await readers.withConnection { try await body($0.sql(queryLogLevel: nil)) }
    }

    public func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        guard !isClosed.load(ordering: .acquiring) else { throw ClosedError() }
        return try await committer.write(body)
    }

    /// Closes the connections and stops the engine's threads; closing again does nothing.
    public func close() async throws {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        checkpointer.cancel()
        await checkpointer.value
        for connection in await writer.all + readers.all + [checkpointing] {
            try await connection.close()
        }
        for pool in threads { try await pool.shutdownGracefully() }
    }
}

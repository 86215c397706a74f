import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit

/// The embedded default: one SQLite file in WAL mode.
///
/// WAL lets readers run beside the single writer, so the engine keeps one writer connection (every
/// transaction goes through it, in order; those that queue up share a commit, see
/// `GroupCommitWriter`) and a few reader connections. Statements run on NIO's thread pool, never on
/// an event loop.
public final class SQLiteEngine: DatabaseEngine {
    public let kind = SQLEngineKind.sqlite
    public let path: String
    private let writer: ConnectionPool<SQLiteConnection>
    private let readers: ConnectionPool<SQLiteConnection>
    private let committer: GroupCommitWriter

    private init(path: String, writer: ConnectionPool<SQLiteConnection>, readers: ConnectionPool<SQLiteConnection>) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.committer = GroupCommitWriter(pool: writer)
    }

    /// Opens (creating if needed) the database file at `path`.
    public static func open(path: String, readerCount: Int = 4, logger: Logger) async throws -> SQLiteEngine {
        // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database
        // file's mode, so no file of the database is ever readable by others.
        if path != ":memory:" {
            try PrivateFile.secure(path)
            for journal in ["-wal", "-shm", "-journal"] { try PrivateFile.narrowIfPresent(path + journal) }
        }
        let writer = try await openConnection(path: path, logger: logger)
        // WAL is a property of the file: set it once, on the writer, before any reader opens it.
        _ = try await writer.sql(queryLogLevel: nil).raw("PRAGMA journal_mode=WAL").all()
        var readers: [SQLiteConnection] = []
        for _ in 0..<max(1, readerCount) {
            readers.append(try await openConnection(path: path, logger: logger))
        }
        return SQLiteEngine(path: path, writer: ConnectionPool([writer]), readers: ConnectionPool(readers))
    }

    private static func openConnection(path: String, logger: Logger) async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
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
        try await readers.withConnection { try await body($0.sql(queryLogLevel: nil)) }
    }

    public func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await committer.write(body)
    }

    public func close() async throws {
        for connection in await writer.all + readers.all {
            try await connection.close()
        }
    }
}

import NIOCore
import SQLiteNIO
import CourierSQLiteOptions
import VaporCSQLite

/// One SQLite connection whose statements run on the calling thread, which must be the
/// connection's own `SQLiteThread`; prepared statements are kept and reused.
///
/// SQLiteNIO prepares every statement anew and runs it on a thread pool, handing each result back
/// through an event loop. Courier's statements are a few dozen fixed strings, so each is
/// prepared once per connection (`SQLITE_PREPARE_PERSISTENT`) and only reset and re-bound
/// afterwards. The connection uses SQLiteNIO's SQLite library (`VaporCSQLite`), never a second
/// copy: two copies of SQLite in one process do not see each other's POSIX locks and can corrupt a
/// database they share.
final class SQLiteDirectConnection: @unchecked Sendable {
    /// The thread every call of this connection runs on.
    let thread: SQLiteThread
    /// Statements kept at most; past that the quarter used longest ago is finalized (a query built
    /// with varying text must not grow the cache without bound, nor empty it for everyone else).
    static let statementCacheLimit = 256

    // Touched only on `thread`.
    private var handle: OpaquePointer?
    private var statements: [String: KeptStatement] = [:]
    /// Counts statement runs, to tell which kept statements were used longest ago.
    private var runs = 0
    /// Statements compiled since the connection opened: cache misses, and re-compilations SQLite
    /// does by itself (after a schema change, or when a bound value could change the plan, which
    /// `courier_sqlite_enable_stable_plans` turns off). For tests and metrics.
    private(set) var preparedCount = 0
    /// Frames in the write-ahead log after this connection's last commit, once `watchLog` ran.
    private(set) var logFrames = 0
    /// Frames (pages) this connection's commits wrote to the log since `watchLog` ran, over every
    /// time the log started over. For tests and metrics.
    private(set) var framesLogged = 0

    /// A prepared statement with the names of its result columns, read once.
    private final class KeptStatement {
        let pointer: OpaquePointer
        var columnNames: [String]?
        /// `runs` when it last ran.
        var lastRun = 0
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
    }

    private init(thread: SQLiteThread) {
        self.thread = thread
    }

    /// Opens (creating if needed) the database at `path` on a new thread named `name`.
    static func open(path: String, name: String) async throws -> SQLiteDirectConnection {
        let connection = SQLiteDirectConnection(thread: SQLiteThread(name: name))
        do {
            try await connection.thread.run { try connection.openHere(path: path) }
        } catch {
            await connection.thread.stop()
            throw error
        }
        return connection
    }

    /// SQLite's one-time set-up, done before the first open as SQLiteNIO does: opening the first
    /// connections on several threads at once would otherwise race on SQLite's global settings.
    private static let libraryReady: Int32 = sqlite_nio_sqlite3_initialize()

    private func openHere(path: String) throws {
        guard Self.libraryReady == SQLITE_OK else {
            throw SQLiteStatementError(code: Self.libraryReady, message: "SQLite could not be initialized")
        }
        // Serialized ("full mutex") as SQLiteNIO opens its connections: the library's checks stay on.
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        var opened: OpaquePointer?
        let status = sqlite_nio_sqlite3_open_v2(path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let message = opened.flatMap { sqlite_nio_sqlite3_errmsg($0).map { String(cString: $0) } } ?? "cannot open"
            sqlite_nio_sqlite3_close(opened)
            throw SQLiteStatementError(code: status, message: "\(message) (\(path))")
        }
        // A kept statement must stay compiled: without this, binding a value to `LIMIT ?` (and a
        // few other spots) marks it expired and the next step compiles it again. The price: plans
        // are chosen without the bound values (a `LIMIT ?` does not steer the choice between an
        // index walk and a sort, a bound value cannot select a partial index), so the plans of the
        // paths that matter are held by `QueryPlanTests`.
        let stable = courier_sqlite_enable_stable_plans(UnsafeMutableRawPointer(opened))
        guard stable == SQLITE_OK else {
            sqlite_nio_sqlite3_close(opened)
            throw SQLiteStatementError(code: stable, message: "stable query plans could not be turned on (\(path))")
        }
        handle = opened
    }

    /// Runs `sql` with `binds`, calling `onRow` for each row. Must run on `thread`.
    func execute(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteResultRow) -> Void) throws {
        precondition(thread.isCurrent, "a statement ran off its connection's thread")
        guard let handle else { throw SQLiteStatementError(code: SQLITE_MISUSE, message: "the connection is closed") }
        let kept = try prepared(sql, on: handle)
        let statement = kept.pointer
        // Reset on every way out: a statement left mid-way keeps its read transaction open, which
        // would hold back the checkpoint (and the writer's next BEGIN).
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        try bind(binds, to: statement, on: handle)
        var firstStep = true
        while true {
            let status = sqlite_nio_sqlite3_step(statement)
            if firstStep {
                firstStep = false
                // A re-compilation (a schema change) may have changed the result's columns.
                let recompiled = Int(sqlite_nio_sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_REPREPARE, 1))
                if recompiled > 0 {
                    preparedCount += recompiled
                    kept.columnNames = nil
                }
            }
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw error(status, on: handle) }
            let columns = kept.columnNames ?? columnNames(of: statement)
            kept.columnNames = columns
            var values: [SQLiteData] = []
            values.reserveCapacity(columns.count)
            for index in 0..<Int32(columns.count) { values.append(value(of: statement, at: index)) }
            onRow(SQLiteResultRow(names: columns, values: values))
        }
    }

    private func columnNames(of statement: OpaquePointer) -> [String] {
        (0..<sqlite_nio_sqlite3_column_count(statement)).map { String(cString: sqlite_nio_sqlite3_column_name(statement, $0)) }
    }

    /// Keeps `logFrames` up to date after each commit (SQLite's WAL hook). Must run on `thread`,
    /// after `PRAGMA wal_autocheckpoint`, which replaces the hook.
    func watchLog() {
        precondition(thread.isCurrent, "the log was watched off the connection's thread")
        sqlite_nio_sqlite3_wal_hook(handle, { context, _, _, frames in
            // Called on the thread, inside the commit; the connection outlives its handle.
            Unmanaged<SQLiteDirectConnection>.fromOpaque(context!).takeUnretainedValue().noteCommit(logFrames: Int(frames))
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    private func noteCommit(logFrames frames: Int) {
        // A log shorter than before started over: all of it is this commit's.
        framesLogged += frames >= logFrames ? frames - logFrames : frames
        logFrames = frames
    }

    /// Finalizes the kept statements, closes the connection and ends its thread.
    func close() async throws {
        try await thread.run { self.closeHere() }
        await thread.stop()
    }

    private func closeHere() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement.pointer) }
        statements.removeAll()
        sqlite_nio_sqlite3_close(handle)
        handle = nil
    }

    private func prepared(_ sql: String, on handle: OpaquePointer) throws -> KeptStatement {
        runs += 1
        if let kept = statements[sql] {
            kept.lastRun = runs
            return kept
        }
        var statement: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw error(status, on: handle) }
        if statements.count >= Self.statementCacheLimit {
            for (text, old) in statements.sorted(by: { $0.value.lastRun < $1.value.lastRun }).prefix(Self.statementCacheLimit / 4) {
                sqlite_nio_sqlite3_finalize(old.pointer)
                statements[text] = nil
            }
        }
        let kept = KeptStatement(statement)
        kept.lastRun = runs
        statements[sql] = kept
        preparedCount += 1
        return kept
    }

    private func bind(_ binds: [SQLiteData], to statement: OpaquePointer, on handle: OpaquePointer) throws {
        for (offset, data) in binds.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch data {
            case .integer(let value):
                status = sqlite_nio_sqlite3_bind_int64(statement, index, Int64(value))
            case .float(let value):
                status = sqlite_nio_sqlite3_bind_double(statement, index, value)
            case .text(let value):
                var value = value
                status = value.withUTF8 {
                    sqlite_nio_sqlite3_bind_text64(statement, index, $0.baseAddress, UInt64($0.count), transient, UInt8(SQLITE_UTF8))
                }
            case .blob(let value):
                status = value.withUnsafeReadableBytes { bytes in
                    // A nil pointer would bind NULL, not an empty blob.
                    bytes.isEmpty
                        ? sqlite_nio_sqlite3_bind_zeroblob(statement, index, 0)
                        : sqlite_nio_sqlite3_bind_blob64(statement, index, bytes.baseAddress, UInt64(bytes.count), transient)
                }
            case .null:
                status = sqlite_nio_sqlite3_bind_null(statement, index)
            }
            guard status == SQLITE_OK else { throw error(status, on: handle) }
        }
    }

    private func value(of statement: OpaquePointer, at index: Int32) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER:
            return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, index)))
        case SQLITE_FLOAT:
            return .float(sqlite_nio_sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            // Read by length: text may hold a NUL.
            guard let text = sqlite_nio_sqlite3_column_text(statement, index) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
            guard let bytes = sqlite_nio_sqlite3_column_blob(statement, index), count > 0 else { return .blob(ByteBuffer()) }
            return .blob(ByteBuffer(bytes: UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }

    private func error(_ status: Int32, on handle: OpaquePointer) -> SQLiteStatementError {
        SQLiteStatementError(code: sqlite_nio_sqlite3_extended_errcode(handle), message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }
}

/// SQLite's "copy this value now" destructor (`SQLITE_TRANSIENT`, a C macro Swift cannot import).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

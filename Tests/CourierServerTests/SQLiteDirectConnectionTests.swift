@testable import CourierStore
import CourierCore
import Foundation
import NIOCore
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization
import Testing

/// The pieces under the SQLite engine, each on its own: the thread that runs a connection's
/// statements, the connection with its kept statements, and the engine running whole bodies on
/// their connection's thread.
@Suite("SQLite connections")
struct SQLiteDirectConnectionTests {
    @Test func aThreadRunsWorkInOrderAndHandsBackResultsAndErrors() async throws {
        let thread = SQLiteThread(name: "test-sqlite")
        let order = Order()
        for index in 0..<100 { try await thread.run { order.append(index) } }
        #expect(order.all == Array(0..<100))
        #expect(await thread.serialExecutor.isIsolatingCurrentContext() == false)
        #expect(try await thread.run { thread.isCurrent })
        #expect(!thread.isCurrent)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await thread.run { throw Refused() } }
        await thread.stop()
    }

    @Test func aTaskPreferringTheThreadStaysOnIt() async throws {
        let thread = SQLiteThread(name: "test-sqlite")
        let stayed = await withTaskExecutorPreference(thread.taskExecutor) {
            var stayed = thread.isCurrent
            for _ in 0..<10 {
                await Task.yield()
                stayed = stayed && thread.isCurrent
            }
            return stayed
        }
        #expect(stayed)
        await thread.stop()
    }

    @Test func valuesComeBackAsTheyWentIn() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/values.sqlite", logger: TestEngine.logger)
        try await engine.write { try await $0.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY, t TEXT, b BLOB, f REAL, n INTEGER)").run() }
        let text = "nul \u{0} inside, ünïcödé, 🐈"
        let blob = Data([0, 1, 2, 255])
        try await engine.write { sql in
            try await sql.raw("INSERT INTO probe (id, t, b, f, n) VALUES (\(bind: Int.max), \(bind: text), \(bind: blob), \(bind: 1.5), NULL)").run()
            try await sql.raw("INSERT INTO probe (id, t, b, f, n) VALUES (\(bind: Int.min), '', \(bind: Data()), 0, 0)").run()
        }
        let rows = try await engine.read { sql in
            try await sql.raw("SELECT id, t, b, f, n, typeof(b) AS kind FROM probe ORDER BY id DESC").all().map { row in
                (
                    try row.decode(column: "id", as: Int.self), try row.decode(column: "t", as: String.self),
                    try row.decode(column: "b", as: Data.self), try row.decode(column: "f", as: Double.self),
                    try row.decodeNil(column: "n"), try row.decode(column: "kind", as: String.self)
                )
            }
        }
        try #require(rows.count == 2)
        #expect(rows[0].0 == Int.max && rows[0].1 == text && rows[0].2 == blob && rows[0].3 == 1.5 && rows[0].4)
        // An empty blob stays a blob, not NULL.
        #expect(rows[1].0 == Int.min && rows[1].1 == "" && rows[1].2 == Data() && !rows[1].4 && rows[1].5 == "blob")
        try await engine.close()
    }

    @Test func statementsArePreparedOncePerConnection() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/prepared.sqlite", readerCount: 1, logger: TestEngine.logger)
        try await engine.write { try await $0.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY)").run() }
        for id in 0..<5 { try await engine.write { try await $0.raw("INSERT INTO probe (id) VALUES (\(bind: id))").run() } }
        _ = try await engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM probe WHERE id >= \(bind: 0)").all() }
        let before = try await engine.preparedStatementCount()
        for id in 5..<105 {
            try await engine.write { try await $0.raw("INSERT INTO probe (id) VALUES (\(bind: id))").run() }
            _ = try await engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM probe WHERE id >= \(bind: id)").all() }
        }
        #expect(try await engine.preparedStatementCount() == before)
        // Text that varies each time (never done by Courier's queries) cannot grow the cache without
        // bound, and what is in use all along stays kept.
        let varying = SQLiteDirectConnection.statementCacheLimit + 10
        for id in 0..<varying {
            _ = try await engine.read { try await $0.raw("SELECT \(unsafeRaw: String(id)) AS n").first()?.decode(column: "n", as: Int.self) }
            _ = try await engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM probe WHERE id >= \(bind: id)").all() }
        }
        #expect(try await engine.preparedStatementCount() == before + varying)
        #expect(try await engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM probe").first()?.decode(column: "n", as: Int.self) } == 105)
        try await engine.close()
    }

    /// SQLite re-compiles a statement whose bound value may change its plan (`LIMIT ?`) on every
    /// run unless stable plans are on: a kept statement would then be compiled each time anyway.
    @Test func aLimitGivenAsAValueKeepsItsStatementCompiled() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/limits.sqlite", readerCount: 1, logger: TestEngine.logger)
        try await engine.write { sql in
            try await sql.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY)").run()
            for id in 0..<60 { try await sql.raw("INSERT INTO probe (id) VALUES (\(bind: id))").run() }
        }
        @Sendable func page(_ limit: Int) async throws -> Int {
            try await engine.read { try await $0.raw("SELECT id FROM probe WHERE id >= \(bind: 0) ORDER BY id LIMIT \(bind: limit)").all().count }
        }
        #expect(try await page(1) == 1)
        let before = try await engine.preparedStatementCount()
        for limit in [2, 50, 1, 0, 7, 60, 1] { #expect(try await page(limit) == limit) }
        #expect(try await engine.preparedStatementCount() == before)
        try await engine.close()
    }

    /// A schema change re-compiles kept statements, and a row then has the columns the table has now.
    @Test func aSchemaChangeReachesKeptStatements() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/schema.sqlite", readerCount: 1, logger: TestEngine.logger)
        try await engine.write { sql in
            try await sql.raw("CREATE TABLE probe (a INTEGER)").run()
            try await sql.raw("INSERT INTO probe (a) VALUES (1)").run()
        }
        @Sendable func columns() async throws -> [String] {
            try await engine.read { try await $0.raw("SELECT * FROM probe").first()?.allColumns ?? [] }
        }
        #expect(try await columns() == ["a"])
        let before = try await engine.preparedStatementCount()
        try await engine.write { try await $0.raw("ALTER TABLE probe ADD COLUMN b TEXT").run() }
        #expect(try await columns() == ["a", "b"])
        #expect(try await engine.preparedStatementCount() > before)
        try await engine.close()
    }

    @Test func aBodyRunsOnItsConnectionsThreadFromStartToEnd() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/threads.sqlite", logger: TestEngine.logger)
        @Sendable func onOwnThread(_ sql: any SQLDatabase) -> Bool {
            (sql as? SQLiteDirectDatabase)?.connection.thread.isCurrent ?? false
        }
        let wrote = try await engine.write { sql in
            var stayed = onOwnThread(sql)
            try await sql.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY)").run()
            stayed = stayed && onOwnThread(sql)
            for id in 0..<10 {
                try await sql.raw("INSERT INTO probe (id) VALUES (\(bind: id))").run()
                stayed = stayed && onOwnThread(sql)
            }
            return stayed
        }
        #expect(wrote, "a write body left the writer's thread")
        let read = try await engine.read { sql in
            var stayed = onOwnThread(sql)
            for _ in 0..<10 {
                _ = try await sql.raw("SELECT COUNT(*) AS n FROM probe").all()
                stayed = stayed && onOwnThread(sql)
            }
            return stayed
        }
        #expect(read, "a read body left its reader's thread")
        try await engine.close()
    }

    /// Reads and writes racing `close` either finish or are refused: none waits forever for a
    /// connection that closed, and none runs on a thread that stopped.
    @Test func closingWhileBusyLetsEveryCallEnd() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/closing.sqlite", logger: TestEngine.logger)
        try await engine.write { try await $0.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT)").run() }
        let callers = (0..<40).map { index in
            Task { () -> Int in
                var refused = 0
                for _ in 0..<200 {
                    do {
                        if index % 2 == 0 {
                            try await engine.write { try await $0.raw("INSERT INTO probe (note) VALUES ('x')").run() }
                        } else {
                            _ = try await engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM probe").all() }
                        }
                    } catch is SQLiteEngine.ClosedError {
                        refused += 1
                    }
                }
                return refused
            }
        }
        try await Task.sleep(for: .milliseconds(5))
        try await engine.close()
        let ended = await finishes(within: .seconds(30)) {
            for caller in callers { _ = try? await caller.value }
        }
        #expect(ended, "a call racing close never ended")
        var refused = 0
        for caller in callers { refused += (try? await caller.value) ?? 0 }
        #expect(refused > 0, "close came after every call; the race was not exercised")
    }

    @Test func aRepeatedKeyIsRecognisedAndTheTransactionRolledBack() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/unique.sqlite", logger: TestEngine.logger)
        try await engine.write { try await $0.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY, name TEXT UNIQUE)").run() }
        try await engine.write { try await $0.raw("INSERT INTO probe (id, name) VALUES (1, 'a')").run() }
        let error = await #expect(throws: SQLiteStatementError.self) {
            try await engine.write { sql in
                try await sql.raw("INSERT INTO probe (id, name) VALUES (2, 'b')").run()
                try await sql.raw("INSERT INTO probe (id, name) VALUES (3, 'a')").run()
            }
        }
        #expect(error.map { UniqueViolation($0)?.isOn(table: "probe", column: "name") } == true)
        let names = try await engine.read { try await $0.raw("SELECT name FROM probe").all().map { try $0.decode(column: "name", as: String.self) } }
        #expect(names == ["a"])
        // A statement SQLite cannot prepare is an error too, and the connection goes on.
        await #expect(throws: SQLiteStatementError.self) { try await engine.read { try await $0.raw("SELEKT 1").run() } }
        #expect(try await engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM probe").first()?.decode(column: "n", as: Int.self) } == 1)
        try await engine.close()
    }
}

/// Numbers appended from whichever thread, read back in order.
private final class Order: Sendable {
    private let numbers = Mutex<[Int]>([])
    func append(_ number: Int) { numbers.withLock { $0.append(number) } }
    var all: [Int] { numbers.withLock { $0 } }
}

/// The engine's own value coder gives what SQLiteKit's coders give, for every kind of value.
@Suite("SQLite values")
struct SQLiteValueCodecTests {
    let codec = SQLiteValueCodec.shared

    @Test func bindsAsSQLiteKitBinds() throws {
        let id = UUID()
        let values: [any Encodable] = [
            "text", "", 0, Int.max, Int.min, Int64(42), id, UUID?.some(id), UUID?.none, String?.some("x"), String?.none, Int?.none, Int?.some(7), Int64?.some(-8), Int64?.none, true, 1.5,
            Data([1, 2]), Timestamp(milliseconds: 5),
        ]
        for value in values {
            #expect(try codec.encode(value) == SQLiteDataEncoder().encode(value), "\(value)")
        }
    }

    @Test func readsAsSQLiteKitReads() throws {
        let id = UUID()
        let decoder = SQLiteDataDecoder()
        let cases: [(SQLiteData, [any Decodable.Type])] = [
            (.text(id.uuidString), [UUID.self, UUID?.self, String.self, String?.self]),
            (.text(id.uuidString.lowercased()), [UUID.self, UUID?.self]),
            (.null, [UUID?.self, String?.self, Int?.self, Int64?.self]),
            (.integer(1), [Int.self, Int64.self, Int?.self, Int64?.self, Bool.self]),
            (.integer(Int.min), [Int.self, Int64.self, Int?.self, Int64?.self]),
        ]
        func same<D: Decodable & Equatable>(_ type: D.Type, _ data: SQLiteData) throws -> Bool {
            try codec.decode(D.self, from: data) == decoder.decode(D.self, from: data)
        }
        func check(_ type: any Decodable.Type, _ data: SQLiteData) throws -> Bool {
            switch type {
            case is UUID.Type: try same(UUID.self, data)
            case is UUID?.Type: try same(UUID?.self, data)
            case is String.Type: try same(String.self, data)
            case is String?.Type: try same(String?.self, data)
            case is Int.Type: try same(Int.self, data)
            case is Int?.Type: try same(Int?.self, data)
            case is Int64.Type: try same(Int64.self, data)
            case is Int64?.Type: try same(Int64?.self, data)
            case is Bool.Type: try same(Bool.self, data)
            default: false
            }
        }
        for (data, types) in cases {
            for type in types { #expect(try check(type, data), "\(type) from \(data)") }
        }
        // What SQLiteKit refuses, the codec refuses too.
        for data: SQLiteData in [.text("not an id"), .integer(3), .null] {
            #expect(throws: (any Error).self) { try codec.decode(UUID.self, from: data) }
            #expect(throws: (any Error).self) { try decoder.decode(UUID.self, from: data) }
        }
    }
}

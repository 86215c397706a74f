import CourierStore
import Foundation
import NIOCore
import NIOPosix
import SQLKit
import Synchronization
import Testing

/// The SQLite engine runs its statements on threads of its own: NIO's shared pool also hashes
/// passwords, and a statement of the single writer waiting there stalls every write of the node.
@Suite("SQLite engine")
struct SQLiteEngineTests {
    @Test func statementsRunWhileNIOsSharedThreadsAreBusy() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/courier.sqlite", logger: TestEngine.logger)
        // Every thread of the shared pool is held (as by bcrypt at cost 12) until the test lets go.
        let gate = Gate()
        let holders = (0..<NIOSingletons.blockingPoolThreadCountSuggestion).map { _ in
            Task { try await NIOThreadPool.singleton.runIfActive { gate.waitUntilOpen() } }
        }
        defer { gate.open() }
        let statements = Task {
            try await engine.write { try await $0.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY)").run() }
            try await engine.write { try await $0.raw("INSERT INTO probe (id) VALUES (1)").run() }
            return try await engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM probe").first()?.decode(column: "n", as: Int.self) }
        }
        // Bounded, so that an engine back on the shared pool fails here instead of hanging.
        let finished = await finishes(within: .seconds(20)) { _ = try? await statements.value }
        #expect(finished, "the engine's statements waited for NIO's shared threads")
        #expect(try await statements.value == 1)
        gate.open()
        for holder in holders { try await holder.value }
        try await engine.close()
    }

    /// Commits never copy the log back into the database (the automatic checkpoint is off on the
    /// writer); the background checkpoint does, so the log is copied without any commit waiting.
    @Test func theLogIsCheckpointedInTheBackgroundNotByCommits() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/courier.sqlite", logger: TestEngine.logger)
        #expect(try await engine.write { try await $0.raw("PRAGMA wal_autocheckpoint").first()?.decode(column: "wal_autocheckpoint", as: Int.self) } == 0)
        try await engine.write { try await $0.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)").run() }
        for id in 0..<200 {
            try await engine.write { try await $0.raw("INSERT INTO probe (id, note) VALUES (\(bind: id), \(bind: String(repeating: "x", count: 2000)))").run() }
        }
        // Only a checkpoint puts the rows (400 KB) into the database file itself; the background
        // does within a few of its rounds (a bounded wait, watching the file without touching it).
        let file = folder.path + "/courier.sqlite"
        func size() throws -> Int { try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0 }
        var copied = false
        for _ in 0..<100 where !copied {
            try await Task.sleep(for: SQLiteEngine.checkpointInterval)
            copied = try size() >= 400_000
        }
        let held = try size()
        #expect(copied, "the database file holds \(held) bytes")
        try await engine.close()
    }

    /// Under writes that never pause, the background checkpoint never reaches the log's end and
    /// SQLite never starts the log over: it grew to 2.2 GB in a minute at 500 msg/s. The writer
    /// copies it back itself between batches, so the log stays near its limit.
    @Test func theLogStaysBoundedUnderWritesThatNeverPause() async throws {
        let folder = try TemporaryFolder()
        let file = folder.path + "/courier.sqlite"
        // 256 pages (1 MB) before the writer copies the log back.
        let engine = try await SQLiteEngine.open(path: file, logCopyFrames: 256, logger: TestEngine.logger)
        try await engine.write { try await $0.raw("CREATE TABLE probe (id INTEGER PRIMARY KEY AUTOINCREMENT, note BLOB)").run() }
        func logSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: file + "-wal")[.size] as? Int) ?? 0 }
        let note = Data(repeating: 7, count: 16_384)
        let finished = FinishedCount()
        let writers = (0..<8).map { _ in
            Task {
                defer { finished.add() }
                // Each row 16 KB: about 40 MB of log in all, written as fast as the writer takes it.
                for _ in 0..<320 {
                    try await engine.write { try await $0.raw("INSERT INTO probe (note) VALUES (\(bind: note))").run() }
                }
            }
        }
        var largest = 0
        while finished.value < writers.count {
            largest = max(largest, logSize())
            try await Task.sleep(for: .milliseconds(5))
        }
        for writer in writers { try await writer.value }
        largest = max(largest, logSize())
        #expect(try await engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM probe").first()?.decode(column: "n", as: Int.self) } == 2560)
        // The limit (1 MB), what a batch writes past it (up to 256 writers' 16 KB), and SQLite's
        // truncation at 64 MB never reached: well under 20 MB. Without the writer's copy: 40 MB.
        #expect(largest < 20 << 20, "the log grew to \(largest) bytes")
        try await engine.close()
    }

    /// The bound the tests above rely on holds for work that never ends and ignores cancellation.
    @Test func finishesGivesUpOnWorkThatHangs() async {
        #expect(await finishes(within: .milliseconds(100)) { await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in } } == false)
        #expect(await finishes(within: .seconds(10)) {})
    }

    @Test func aClosedEngineRefusesStatementsAndClosesOnce() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/courier.sqlite", logger: TestEngine.logger)
        try await engine.close()
        await #expect(throws: SQLiteEngine.ClosedError.self) { try await engine.read { try await $0.raw("SELECT 1").run() } }
        await #expect(throws: SQLiteEngine.ClosedError.self) { try await engine.write { try await $0.raw("SELECT 1").run() } }
        try await engine.close()
    }
}

/// A gate blocking threads (not tasks) until it opens.
private final class Gate: Sendable {
    private let isOpen = Mutex(false)

    func waitUntilOpen() {
        while !isOpen.withLock({ $0 }) { usleep(1_000) }
    }

    func open() { isOpen.withLock { $0 = true } }
}

/// How many tasks have finished.
private final class FinishedCount: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

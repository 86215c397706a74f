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
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await statements.value) != nil }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
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

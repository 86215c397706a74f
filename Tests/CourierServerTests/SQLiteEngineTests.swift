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

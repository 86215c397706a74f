import CourierStore
import SQLKit
import Synchronization
import Testing

/// Write transactions stay all-or-nothing per caller when the engine commits many together
/// (SQLite's group commit): a failing caller loses only its own work.
@Suite("Write transactions")
struct WriteTransactionTests {
    struct Refused: Error {}

    @Test(arguments: TestEngine.all)
    func concurrentWritersKeepTheirOwnOutcome(engine: TestEngine) async throws {
        try await engine.withStore { store in
            let database = store.engine
            try await database.write { sql in
                try await sql.raw("CREATE TABLE write_probe (id INTEGER PRIMARY KEY, note TEXT NOT NULL)").run()
            }
            // Every third writer inserts and then fails; every fifth breaks a constraint half-way.
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for id in 1...120 {
                    group.addTask {
                        do {
                            try await database.write { sql in
                                try await sql.raw("INSERT INTO write_probe (id, note) VALUES (\(bind: id), 'first')").run()
                                if id % 5 == 0 {
                                    try await sql.raw("INSERT INTO write_probe (id, note) VALUES (\(bind: id), 'again')").run()
                                }
                                try await sql.raw("INSERT INTO write_probe (id, note) VALUES (\(bind: id + 1000), 'second')").run()
                                if id % 3 == 0 { throw Refused() }
                            }
                            return (id, true)
                        } catch {
                            return (id, false)
                        }
                    }
                }
                var all: [Int: Bool] = [:]
                for await (id, succeeded) in group { all[id] = succeeded }
                return all
            }
            let expected = Set((1...120).filter { $0 % 3 != 0 && $0 % 5 != 0 })
            #expect(Set(outcomes.filter(\.value).keys) == expected)
            let stored = try await database.read { sql in
                try await sql.raw("SELECT id FROM write_probe").all().map { try $0.decode(column: "id", as: Int.self) }
            }
            #expect(Set(stored) == expected.union(expected.map { $0 + 1000 }))
        }
    }

    /// A writer that refuses before writing (`WriteRefused`) gets its reason and leaves the others
    /// of its transaction alone, also when a writer of the same batch fails for real.
    @Test(arguments: TestEngine.all)
    func aWriterThatRefusesBeforeWritingGetsItsReasonAndTheOthersCommit(engine: TestEngine) async throws {
        try await engine.withStore { store in
            let database = store.engine
            try await database.write { sql in
                try await sql.raw("CREATE TABLE refusal_probe (id INTEGER PRIMARY KEY)").run()
            }
            let runs = RunCounts()
            // Every fourth refuses before its insert; every seventh fails after it.
            let outcomes = await withTaskGroup(of: (Int, String).self) { group in
                for id in 1...120 {
                    group.addTask {
                        do {
                            try await database.write { sql in
                                runs.count(id)
                                if id % 4 == 0 { throw WriteRefused(Refused()) }
                                try await sql.raw("INSERT INTO refusal_probe (id) VALUES (\(bind: id))").run()
                                if id % 7 == 0 { throw CancellationError() }
                            }
                            return (id, "stored")
                        } catch let refused as WriteRefused {
                            return (id, refused.reason is Refused ? "refused" : "other refusal")
                        } catch {
                            return (id, error is CancellationError ? "failed" : "other failure")
                        }
                    }
                }
                var all: [Int: String] = [:]
                for await (id, outcome) in group { all[id] = outcome }
                return all
            }
            for id in 1...120 {
                #expect(outcomes[id] == (id % 4 == 0 ? "refused" : id % 7 == 0 ? "failed" : "stored"), "writer \(id)")
            }
            let stored = try await database.read { sql in
                try await sql.raw("SELECT id FROM refusal_probe").all().map { try $0.decode(column: "id", as: Int.self) }
            }
            #expect(Set(stored) == Set((1...120).filter { $0 % 4 != 0 && $0 % 7 != 0 }))

            // Without real failures, refusals roll nothing back: every body ran once.
            runs.reset()
            await withTaskGroup(of: Void.self) { group in
                for id in 201...320 {
                    group.addTask {
                        _ = try? await database.write { sql in
                            runs.count(id)
                            if id % 4 == 0 { throw WriteRefused(Refused()) }
                            try await sql.raw("INSERT INTO refusal_probe (id) VALUES (\(bind: id))").run()
                        }
                    }
                }
            }
            #expect(runs.all == Dictionary(uniqueKeysWithValues: (201...320).map { ($0, 1) }))
        }
    }
}

/// How many times each writer's body ran.
private final class RunCounts: Sendable {
    private let counts = Mutex<[Int: Int]>([:])

    func count(_ id: Int) { counts.withLock { $0[id, default: 0] += 1 } }
    func reset() { counts.withLock { $0 = [:] } }
    var all: [Int: Int] { counts.withLock { $0 } }
}

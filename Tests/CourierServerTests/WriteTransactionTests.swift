import CourierStore
import SQLKit
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
}

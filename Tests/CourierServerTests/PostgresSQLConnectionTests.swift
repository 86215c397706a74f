import CourierStore
import Foundation
import SQLKit
import Testing

/// `PostgresSQLConnection`, the SQLKit database `PostgresEngine` hands out: binds encoded and rows
/// decoded as PostgresKit would, with the common types decoded directly and the rest left to it.
@Suite("PostgreSQL connection", .enabled(if: TestEngine.postgresURL != nil))
struct PostgresSQLConnectionTests {
    struct Document: Codable, Sendable {
        let name: String
    }

    @Test func everyKindOfBindAndColumnRoundTrips() async throws {
        try await TestEngine.postgres.withStore { store in
            let id = UUID()
            try await store.engine.read { sql in
                let row = try #require(try await sql.raw("""
                    SELECT \(bind: id)::uuid AS u, \(bind: UUID?.none)::uuid AS nu, \(bind: "héllo, 'world'")::text AS s,
                        \(bind: String?.none)::text AS ns, \(bind: Int64.max)::bigint AS i, \(bind: Int64?.none)::bigint AS ni,
                        \(bind: 42)::integer AS n, \(bind: true)::boolean AS b, \(bind: Bool?.none)::boolean AS nb,
                        \(bind: [Int64(1), 2, 3])::bigint[] AS arr, \(bind: 2.5)::double precision AS d,
                        \(bind: Optional(Data([0, 1, 255])))::bytea AS data, \(bind: Document(name: "kept"))::jsonb ->> 'name' AS doc
                    """).first())
                #expect(try row.decode(column: "u", as: UUID.self) == id)
                #expect(try row.decode(column: "u", as: UUID?.self) == id)
                #expect(try row.decode(column: "nu", as: UUID?.self) == nil)
                #expect(try row.decode(column: "s", as: String.self) == "héllo, 'world'")
                #expect(try row.decode(column: "ns", as: String?.self) == nil)
                #expect(try row.decode(column: "i", as: Int64.self) == .max)
                #expect(try row.decode(column: "ni", as: Int64?.self) == nil)
                #expect(try row.decode(column: "n", as: Int.self) == 42)
                #expect(try row.decode(column: "n", as: Int?.self) == 42)
                #expect(try row.decode(column: "b", as: Bool.self))
                #expect(try row.decode(column: "nb", as: Bool?.self) == nil)
                // Left to PostgresKit's row: arrays, doubles, bytes.
                #expect(try row.decode(column: "arr", as: [Int64].self) == [1, 2, 3])
                #expect(try row.decode(column: "d", as: Double.self) == 2.5)
                #expect(try row.decode(column: "data", as: Data.self) == Data([0, 1, 255]))
                // A bind PostgresNIO cannot encode itself (JSON): the query ran through PostgresKit.
                #expect(try row.decode(column: "doc", as: String.self) == "kept")

                #expect(try row.decodeNil(column: "nu"))
                #expect(try !row.decodeNil(column: "u"))
                #expect(try row.decodeNil(column: "absent"))
                #expect(row.contains(column: "s"))
                #expect(!row.contains(column: "absent"))
                #expect(row.allColumns.first == "u")
            }
        }
    }

    @Test func aMissingColumnOrANullWhereAValueMustBeThrows() async throws {
        try await TestEngine.postgres.withStore { store in
            try await store.engine.read { sql in
                let row = try #require(try await sql.raw("SELECT NULL::uuid AS u, 'x'::text AS s").first())
                #expect(throws: (any Error).self) { try row.decode(column: "u", as: UUID.self) }
                #expect(throws: (any Error).self) { try row.decode(column: "absent", as: String.self) }
                #expect(throws: (any Error).self) { try row.decode(column: "s", as: Int64.self) }
            }
        }
    }

    /// Two columns of one name: the row reads the last, as PostgresNIO's own look-up by name does,
    /// on every row of the result (the positions are shared by its rows).
    @Test func aNameTwiceInAResultReadsTheLastColumn() async throws {
        try await TestEngine.postgres.withStore { store in
            let rows = try await store.engine.read { sql in
                try await sql.raw("SELECT g AS n, g * 10 AS n FROM generate_series(1, 3) g ORDER BY g").all()
            }
            #expect(try rows.map { try $0.decode(column: "n", as: Int.self) } == [10, 20, 30])
        }
    }

    /// Connections run without PostgreSQL's JIT, which compiled a history page by offset in a chat
    /// of a million messages for 13–30 ms (the page itself took 0.3 ms).
    @Test func connectionsRunWithoutJIT() async throws {
        try await TestEngine.postgres.withStore { store in
            let settings = try await store.engine.read { sql in
                try await sql.raw("SELECT current_setting('jit') AS jit").all().map { try $0.decode(column: "jit", as: String.self) }
            }
            #expect(settings == ["off"])
        }
    }

    @Test func manyRowsArriveInOrder() async throws {
        try await TestEngine.postgres.withStore { store in
            let values = try await store.engine.read { sql in
                try await sql.raw("SELECT g AS n FROM generate_series(1, \(bind: 500)) g ORDER BY g").all()
                    .map { try $0.decode(column: "n", as: Int.self) }
            }
            #expect(values == Array(1...500))
        }
    }
}

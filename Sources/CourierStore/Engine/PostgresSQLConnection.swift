import Foundation
import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// SQLKit's view of one PostgreSQL connection: what PostgresKit's `connection.sql()` gives, with
/// the rows' common columns decoded directly.
///
/// PostgresKit decodes every column through its general translation (an array of coding keys and
/// a dynamic cast per column), which was a quarter of the server's CPU while it served history
/// pages: a page of 50 decodes about a thousand columns. Here a `String`, `UUID`, `Int64`, `Int` or
/// `Bool` column (or an optional one) is decoded by PostgresNIO's own decoder for that type, as
/// PostgresKit's fast path ends up doing; anything else goes to PostgresKit's row. Binds are
/// encoded as PostgresKit encodes them (null, or the value's own PostgreSQL encoding); a query
/// with a bind of another kind is run by PostgresKit.
struct PostgresSQLConnection: SQLDatabase {
    let connection: PostgresConnection
    /// PostgresKit's database on the same connection, for what this one leaves to it.
    private let kit: any SQLDatabase

    init(_ connection: PostgresConnection) {
        self.connection = connection
        self.kit = connection.sql(queryLogLevel: nil)
    }

    var logger: Logger { connection.logger }
    var eventLoop: any EventLoop { connection.eventLoop }
    var dialect: any SQLDialect { kit.dialect }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        kit.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = serialize(query)
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            guard try Self.append(bind, to: &bindings) else { return try await kit.execute(sql: query, onRow) }
        }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: connection.logger)
        // The rows of one result share their columns: their positions by name are looked up once.
        var positions: [String: Int]?
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let named = positions ?? Dictionary(cells.enumerated().map { ($1.columnName, $0) }, uniquingKeysWith: { _, last in last })
            positions = named
            onRow(PostgresSQLRow(row: row, cells: cells, positions: named))
        }
    }

    /// Appends `value` as PostgresKit would, if it is null or encodes itself; false otherwise.
    private static func append<Value: Encodable>(_ value: Value, to bindings: inout PostgresBindings) throws -> Bool {
        if (value as? any OptionalBind)?.isNone == true {
            bindings.appendNull()
        } else if let encodable = value as? any PostgresThrowingDynamicTypeEncodable {
            try bindings.append(encodable, context: .default)
        } else {
            return false
        }
        return true
    }
}

/// An optional bind, told apart when it is `nil` (a cast to `Any?` would wrap it instead).
private protocol OptionalBind {
    var isNone: Bool { get }
}

extension Optional: OptionalBind {
    fileprivate var isNone: Bool { self == nil }
}

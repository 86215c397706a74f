import Foundation
import PostgresKit
import PostgresNIO
import SQLKit

/// A row of `PostgresSQLConnection`: common column types decoded directly, others by PostgresKit.
struct PostgresSQLRow: SQLRow {
    let row: PostgresRow
    private let columns: PostgresRandomAccessRow

    init(row: PostgresRow) {
        self.row = row
        self.columns = row.makeRandomAccess()
    }

    var allColumns: [String] { columns.map(\.columnName) }

    func contains(column: String) -> Bool { columns.contains(column) }

    func decodeNil(column: String) throws -> Bool { !columns.contains(column) || columns[column].bytes == nil }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        guard columns.contains(column) else { return try row.sql().decode(column: column, as: T.self) }
        let cell = columns[column]
        // Each branch has established that T is the type it decodes, so its cast cannot fail.
        if T.self == String.self { return try cell.decode(String.self) as! T }
        if T.self == String?.self { return try cell.decode(String?.self) as! T }
        if T.self == UUID.self { return try cell.decode(UUID.self) as! T }
        if T.self == UUID?.self { return try cell.decode(UUID?.self) as! T }
        if T.self == Int64.self { return try cell.decode(Int64.self) as! T }
        if T.self == Int64?.self { return try cell.decode(Int64?.self) as! T }
        if T.self == Int.self { return try cell.decode(Int.self) as! T }
        if T.self == Int?.self { return try cell.decode(Int?.self) as! T }
        if T.self == Bool.self { return try cell.decode(Bool.self) as! T }
        if T.self == Bool?.self { return try cell.decode(Bool?.self) as! T }
        return try row.sql().decode(column: column, as: T.self)
    }
}

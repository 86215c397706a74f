import Foundation
import PostgresKit
import PostgresNIO
import SQLKit

/// A row of `PostgresSQLConnection`: common column types decoded directly, others by PostgresKit.
struct PostgresSQLRow: SQLRow {
    let row: PostgresRow
    private let cells: PostgresRandomAccessRow
    /// Each column's position in `cells` (the last, if two share a name, as in PostgresNIO's own
    /// look-up), shared by the rows of one result: a cell costs one look-up by name, not two
    /// (`contains`, then the subscript).
    private let positions: [String: Int]

    init(row: PostgresRow, cells: PostgresRandomAccessRow, positions: [String: Int]) {
        self.row = row
        self.cells = cells
        self.positions = positions
    }

    var allColumns: [String] { cells.map(\.columnName) }

    func contains(column: String) -> Bool { positions[column] != nil }

    func decodeNil(column: String) throws -> Bool { positions[column].map { cells[$0].bytes == nil } ?? true }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        guard let position = positions[column] else { return try row.sql().decode(column: column, as: T.self) }
        let cell = cells[position]
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

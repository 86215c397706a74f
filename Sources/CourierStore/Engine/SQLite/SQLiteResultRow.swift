import SQLKit
import SQLiteKit

/// A row read by `SQLiteDirectConnection`, decoded as SQLiteKit's own rows are (see
/// `SQLiteValueCodec`), so repositories read the same values from it.
struct SQLiteResultRow: SQLRow {
    /// The statement's column names, shared by its rows.
    let names: [String]
    let values: [SQLiteData]

    var allColumns: [String] { names }

    func contains(column: String) -> Bool { names.contains(column) }

    func decodeNil(column: String) throws -> Bool {
        guard let index = names.firstIndex(of: column) else { return true }
        return values[index] == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let index = names.firstIndex(of: column) else { throw MissingColumn(column: column) }
        return try SQLiteValueCodec.shared.decode(D.self, from: values[index])
    }

    struct MissingColumn: Error, CustomStringConvertible {
        let column: String
        var description: String { "no column \(column) in the row" }
    }
}

import PostgresNIO

/// A unique-constraint violation, recognised the same way on both engines.
struct UniqueViolation {
    /// The engine's description of the constraint (SQLite: "users.phone"; PostgreSQL: the index name).
    let constraint: String

    init?(_ error: any Error) {
        if let error = error as? SQLiteStatementError, error.isUniqueViolation {
            constraint = error.message
        } else if let error = error as? PSQLError, error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            constraint = error.serverInfo?[.constraintName] ?? ""
        } else {
            return nil
        }
    }

    /// Whether the violated constraint is on `column` of `table`, going by Courier's naming
    /// (`<table>_<column>_unique` indexes).
    func isOn(table: String, column: String) -> Bool {
        constraint.contains("\(table).\(column)") || constraint.contains("\(table)_\(column)_")
    }
}

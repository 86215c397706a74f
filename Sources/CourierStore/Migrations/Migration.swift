/// One versioned step of the schema. Versions are applied in order, once, each in its own
/// transaction, and recorded in `schema_migrations`.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// The statements of this step for an engine; `ColumnTypes` hides the few type names that differ.
    public let statements: @Sendable (ColumnTypes) -> [String]

    public init(version: Int, name: String, statements: @escaping @Sendable (ColumnTypes) -> [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Column type names that differ between the engines.
public struct ColumnTypes: Sendable {
    /// A UUID: native `uuid` on PostgreSQL, text on SQLite (SQLite binds a Swift `UUID` as text).
    public let uuid: String
    /// Ends a `CREATE TABLE` whose primary key is all it holds: SQLite then keeps the rows in the
    /// key's B-tree alone (`WITHOUT ROWID`); PostgreSQL has no such option.
    public let keyOnlyTable: String
    /// For the few statements only one engine needs.
    public let engine: SQLEngineKind

    public init(engine: SQLEngineKind) {
        self.engine = engine
        switch engine {
        case .sqlite: (uuid, keyOnlyTable) = ("TEXT", "WITHOUT ROWID")
        case .postgres: (uuid, keyOnlyTable) = ("UUID", "")
        }
    }
}

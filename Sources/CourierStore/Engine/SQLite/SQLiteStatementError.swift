/// A statement SQLite refused, with its extended result code and message.
public struct SQLiteStatementError: Error, CustomStringConvertible, Sendable {
    /// SQLite's extended result code (`SQLITE_CONSTRAINT_UNIQUE` is 2067, say).
    public let code: Int32
    public let message: String

    public var description: String { "SQLite error \(code): \(message)" }

    /// A UNIQUE or PRIMARY KEY constraint refused the row.
    public var isUniqueViolation: Bool {
        code == Self.constraintUnique || code == Self.constraintPrimaryKey
    }

    static let constraintUnique: Int32 = 19 | (8 << 8)
    static let constraintPrimaryKey: Int32 = 19 | (6 << 8)
}

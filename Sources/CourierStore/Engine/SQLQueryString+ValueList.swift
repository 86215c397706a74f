import SQLKit

extension SQLQueryString {
    /// The values of an `IN (…)` list as bound parameters; on SQLite the last one is repeated up to
    /// the next power of two.
    ///
    /// SQLite statements are prepared once per distinct text and kept (`SQLiteDirectConnection`). A
    /// list of any length would make a new text for every length; padded, a list has one of a dozen
    /// shapes. Repeating a value does not change what `IN` matches. PostgreSQL plans each statement
    /// anew (PostgresKit prepares no named statements), so there the list goes as it is, without
    /// spending binds of its 65,535 on repeats.
    mutating func appendInterpolation(anyOf values: [any Encodable & Sendable]) {
        appendInterpolation(ValueList(values: values))
    }

    /// Lists longer than this go as they are: they are rare, and padding them could double a list
    /// past SQLite's limit on bound values.
    static let longestPaddedList = 4096

    /// `values` with the last one repeated up to the next power of two (none when empty; a list
    /// longer than `longestPaddedList` as it is).
    static func padded<Value>(_ values: [Value]) -> [Value] {
        guard let last = values.last, values.count > 1, values.count <= longestPaddedList else { return values }
        let shape = 1 << (Int.bitWidth - (values.count - 1).leadingZeroBitCount)
        return values + Array(repeating: last, count: shape - values.count)
    }

    /// Whether statements on `dialect` keep one compiled form per text, so that lists are padded.
    static func padsLists(on dialect: any SQLDialect) -> Bool {
        dialect.name == "sqlite"
    }
}

/// Bound values separated by commas, padded where the dialect keeps statements (`anyOf:`).
private struct ValueList: SQLExpression {
    let values: [any Encodable & Sendable]

    func serialize(to serializer: inout SQLSerializer) {
        let list = SQLQueryString.padsLists(on: serializer.dialect) ? SQLQueryString.padded(values) : values
        SQLList(list.map { SQLBind($0) }).serialize(to: &serializer)
    }
}

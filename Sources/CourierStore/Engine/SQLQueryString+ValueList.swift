import SQLKit

extension SQLQueryString {
    /// The values of an `IN (…)` list as bound parameters, the last one repeated up to the next
    /// power of two.
    ///
    /// A statement is prepared once per distinct text and kept (`SQLiteDirectConnection`, and
    /// PostgreSQL's own plans). A list of any length would make a new text for every length; padded,
    /// a list has one of a dozen shapes. Repeating a value does not change what `IN` matches.
    mutating func appendInterpolation(anyOf values: [any Encodable & Sendable]) {
        appendInterpolation(binds: Self.padded(values))
    }

    /// `values` with the last one repeated up to the next power of two (none when empty).
    static func padded<Value>(_ values: [Value]) -> [Value] {
        guard let last = values.last, values.count > 1 else { return values }
        let shape = 1 << (Int.bitWidth - (values.count - 1).leadingZeroBitCount)
        return values + Array(repeating: last, count: shape - values.count)
    }
}

/// Which slice of a list to return: an offset page, or a cursor page relative to a `seq`.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 50
    public static let maxLimit = 100

    public enum Position: Sendable, Equatable {
        /// Skip `offset` items from the newest.
        case offset(Int)
        /// Items with a smaller `seq`, newest first.
        case before(seq: Int64)
        /// Items with a larger `seq`, oldest first (for catching up).
        case after(seq: Int64)
    }

    public var limit: Int
    public var position: Position

    public init(limit: Int = defaultLimit, position: Position = .offset(0)) {
        self.limit = limit
        self.position = position
    }

    /// Reads `limit`, `offset`, `before_seq` and `after_seq` from query parameters, refusing values
    /// that make no sense rather than guessing.
    public init(query: (String) -> String?, allowCursor: Bool = true) throws(CourierError) {
        func integer(_ name: String, _ range: ClosedRange<Int64>) throws(CourierError) -> Int64? {
            guard let text = query(name) else { return nil }
            guard let value = Int64(text), range.contains(value) else {
                throw CourierError(
                    .badRequest, code: "invalid_parameter",
                    message: "'\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound).", field: name
                )
            }
            return value
        }
        let limit = try integer("limit", 1...Int64(Self.maxLimit)).map(Int.init) ?? Self.defaultLimit
        let offset = try integer("offset", 0...Int64(Int32.max))
        let before = allowCursor ? try integer("before_seq", 1...Int64.max) : nil
        let after = allowCursor ? try integer("after_seq", 0...Int64.max) : nil
        guard [offset, before, after].compactMap({ $0 }).count <= 1 else {
            throw CourierError(.badRequest, code: "invalid_parameter", message: "Use only one of offset, before_seq and after_seq.")
        }
        if let before {
            self.init(limit: limit, position: .before(seq: before))
        } else if let after {
            self.init(limit: limit, position: .after(seq: after))
        } else {
            self.init(limit: limit, position: .offset(Int(offset ?? 0)))
        }
    }
}

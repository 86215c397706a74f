/// An e-mail address, checked for a plausible shape (one `@`, a dotted domain, no spaces) and
/// stored lower-case so that uniqueness is case-insensitive.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    public static let maxLength = 254
    public let value: String

    public init(_ raw: String) throws(CourierError) {
        let invalid = CourierError.invalid("email", "Email must look like name@example.com.")
        let trimmed = raw.trimmingWhitespace().lowercased()
        guard trimmed.utf8.count <= Self.maxLength else { throw invalid }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw invalid }
        let local = parts[0], domain = parts[1]
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard !local.isEmpty, local.utf8.count <= 64,
              labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }),
              trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }),
              !trimmed.contains(where: { "<>()[]\\,;:\"".contains($0) })
        else { throw invalid }
        self.value = trimmed
    }

    public var description: String { value }
}

extension String {
    /// The string without leading and trailing white space and newlines.
    public func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

/// A phone number in E.164 form: `+`, a country code not starting with 0, at most 15 digits in all.
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    /// Accepts E.164 and tolerates the spaces, dashes, dots and parentheses people type,
    /// which are removed; anything else is rejected.
    public init(_ raw: String) throws(CourierError) {
        let invalid = CourierError.invalid("phone", "Phone must be in E.164 form, e.g. +14155550123.")
        guard raw.utf8.count <= 32 else { throw invalid }
        let compact = raw.filter { !" -.()".contains($0) }
        guard compact.first == "+" else { throw invalid }
        let digits = compact.dropFirst()
        guard (7...15).contains(digits.count),
              digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              digits.first != "0"
        else { throw invalid }
        self.value = compact
    }

    public var description: String { value }
}

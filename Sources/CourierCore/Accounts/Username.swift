/// A public handle: 5–32 characters of `a-z`, `0-9` and `_`, compared case-insensitively.
///
/// The stored form is lower-case, so uniqueness in the database is case-insensitive on every engine
/// without collation tricks.
public struct Username: Hashable, Sendable, CustomStringConvertible {
    public static let lengths = 5...32
    public let value: String

    public init(_ raw: String) throws(CourierError) {
        let lowered = raw.lowercased()
        guard Self.lengths.contains(lowered.count),
              lowered.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else {
            throw .invalid("username", "Username must be 5 to 32 characters of a-z, 0-9 and _.")
        }
        self.value = lowered
    }

    public var description: String { value }

    /// Names ending in "bot" are bots' (as on Telegram): a person cannot pass for one.
    public var isBotName: Bool { value.hasSuffix("bot") }

    public static let keptForBots = CourierError.invalid("username", "Usernames ending in \"bot\" are kept for bots.")
}

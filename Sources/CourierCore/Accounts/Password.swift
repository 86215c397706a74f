/// A password as a person chose it, checked for length before it is hashed.
///
/// bcrypt reads at most 72 bytes, so a longer password would be silently truncated; it is refused
/// instead, so that no two passwords that differ after byte 72 are ever treated as equal.
public struct Password: Sendable {
    public static let minCharacters = 8
    public static let maxBytes = 72
    public let value: String

    public init(_ raw: String) throws(CourierError) {
        guard raw.count >= Self.minCharacters else {
            throw .invalid("password", "Password must be at least \(Self.minCharacters) characters.")
        }
        guard raw.utf8.count <= Self.maxBytes else {
            throw .invalid("password", "Password must be at most \(Self.maxBytes) bytes.")
        }
        self.value = raw
    }
}

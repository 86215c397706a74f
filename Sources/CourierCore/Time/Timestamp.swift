import Foundation

/// A point in time with millisecond precision, stored as epoch milliseconds.
///
/// Both SQLite and PostgreSQL round-trip a 64-bit integer exactly, which neither does for a bound
/// `Date`; JSON shows it as ISO 8601 with milliseconds (`2026-11-22T10:00:00.123Z`).
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public init(_ date: Date) { self.milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    public static func now() -> Timestamp { Timestamp(Date()) }

    /// Whole seconds since 1970 (the Bot API's dates).
    public var seconds: Int64 { milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000 }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public func adding(seconds: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds + seconds * 1000) }
    public func adding(_ duration: Duration) -> Timestamp {
        Timestamp(milliseconds: milliseconds + duration.milliseconds)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let wholeSeconds = Date.ISO8601FormatStyle()

    /// ISO 8601 with the stored milliseconds exactly. Formatting a `Date` with fractional seconds
    /// cuts off instead of rounding, and most milliseconds have no exact binary fraction
    /// (…823 ms is …0.82299995 s), so half of all times came out a millisecond early: the whole
    /// seconds are formatted as a `Date` (exact) and the milliseconds appended as digits.
    public var description: String {
        let (seconds, millisecond) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let (wholeSeconds, fraction) = millisecond < 0 ? (seconds - 1, millisecond + 1000) : (seconds, millisecond)
        let text = Date(timeIntervalSince1970: Double(wholeSeconds)).formatted(Self.wholeSeconds)
        let digits = String(fraction)
        return text.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = try? Self.style.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "Expected an ISO 8601 time.")
        }
        // Nearest, not down: the parsed fraction is as inexact as a formatted one.
        self.init(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Duration {
    /// Whole milliseconds (what timestamps count in).
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

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

    /// ISO 8601 with the stored milliseconds exactly (`2026-11-22T10:00:00.123Z`). Written from
    /// the calendar arithmetic directly for years 1600–9999: every message in every page and frame
    /// carries two or three times, and formatting each through `Date` was 5 % of a history page's
    /// CPU. Other years go through `Date` (`formattedThroughDate`, which the tests compare with):
    /// its calendar is Julian before October 1582.
    public var description: String {
        let (wholeSeconds, fraction) = Self.split(milliseconds)
        var days = wholeSeconds / 86_400
        var secondOfDay = wholeSeconds % 86_400
        if secondOfDay < 0 { (secondOfDay, days) = (secondOfDay + 86_400, days - 1) }
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        guard (1600...9999).contains(year) else { return formattedThroughDate }
        return String(unsafeUninitializedCapacity: 24) { text in
            func put(_ value: Int64, digits: Int, at offset: Int) {
                var rest = value
                for position in stride(from: offset + digits - 1, through: offset, by: -1) {
                    text[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            put(year, digits: 4, at: 0)
            put(month, digits: 2, at: 5)
            put(day, digits: 2, at: 8)
            put(secondOfDay / 3600, digits: 2, at: 11)
            put(secondOfDay / 60 % 60, digits: 2, at: 14)
            put(secondOfDay % 60, digits: 2, at: 17)
            put(fraction, digits: 3, at: 20)
            for (offset, character) in [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "."), (23, "Z")] as [(Int, Unicode.Scalar)] {
                text[offset] = UInt8(ascii: character)
            }
            return 24
        }
    }

    /// The same text formatted through `Date`. Formatting a `Date` with fractional seconds cuts
    /// off instead of rounding, and most milliseconds have no exact binary fraction (…823 ms is
    /// …0.82299995 s), so half of all times came out a millisecond early: the whole seconds are
    /// formatted as a `Date` (exact) and the milliseconds appended as digits.
    var formattedThroughDate: String {
        let (wholeSeconds, fraction) = Self.split(milliseconds)
        let text = Date(timeIntervalSince1970: Double(wholeSeconds)).formatted(Self.wholeSeconds)
        let digits = String(fraction)
        return text.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// Whole seconds (rounded down) and the milliseconds after them (0–999).
    private static func split(_ milliseconds: Int64) -> (seconds: Int64, milliseconds: Int64) {
        let (seconds, millisecond) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        return millisecond < 0 ? (seconds - 1, millisecond + 1000) : (seconds, millisecond)
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`): no formatter, time zone or shared state. S3's request signing uses it too.
    public static func civilDate(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
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

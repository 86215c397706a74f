import Foundation

/// Encodes an `Encodable` value to JSON bytes as it is encoded.
///
/// Foundation's `JSONEncoder` first builds a tree of boxed values (a dictionary per object) and
/// then writes it out; for a page of 50 messages that tree was about a quarter of the server's CPU
/// per history page. This encoder writes each value straight into one byte array instead. Its JSON
/// is the same as `JSONEncoder`'s with default settings (numbers, escapes — `/` as `\/` —, `Data`
/// as base64, `URL` as its text, a value that encodes nothing as `{}`), apart from the order of
/// an object's keys, which JSON leaves open (this one keeps the order they were encoded in).
///
/// Writing as it goes needs values to be encoded in order: a container written to after a later
/// sibling's, or a `superEncoder`, cannot be streamed. The few encodings that do so are handed to
/// `JSONEncoder` whole, so every value still encodes.
public struct StreamingJSONEncoder: Sendable {
    /// How a `Date` is written: as `JSONEncoder`'s default (`deferredToDate`, seconds since 2001 as
    /// a number) or its `.iso8601` strategy (what Hummingbird's responses use).
    public enum DateEncoding: Sendable {
        case deferredToDate
        case iso8601
    }

    public var dateEncoding: DateEncoding

    public init(dateEncoding: DateEncoding = .deferredToDate) {
        self.dateEncoding = dateEncoding
    }

    /// The JSON of `value`, as UTF-8 bytes.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = JSONStreamWriter(dateEncoding: dateEncoding)
        do {
            try writer.writeTopLevel(value)
            return writer.bytes
        } catch is JSONStreamWriter.NotStreamable {
            let encoder = JSONEncoder()
            if dateEncoding == .iso8601 { encoder.dateEncodingStrategy = .iso8601 }
            return Array(try encoder.encode(value))
        }
    }

    /// The JSON of `value` as text.
    public func encodeText<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }
}

import NIOCore

/// A value of the Redis serialization protocol, version 2 (RESP2): what a command is sent as and
/// what Redis answers.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// A binary-safe string; nil is RESP's null bulk string (`$-1`).
    case bulkString(ByteBuffer?)
    /// nil is RESP's null array (`*-1`).
    case array([RESPValue]?)

    /// The value as text: simple and bulk strings, and integers.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let buffer?): String(buffer: buffer)
        case .integer(let number): String(number)
        default: nil
        }
    }

    public var int: Int64? {
        switch self {
        case .integer(let number): number
        case .bulkString(let buffer?): Int64(String(buffer: buffer))
        default: nil
        }
    }

    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): true
        default: false
        }
    }

    /// A command as Redis reads it: an array of bulk strings.
    public static func command(_ parts: [String]) -> RESPValue {
        .array(parts.map { .bulkString(ByteBuffer(string: $0)) })
    }

    /// Appends the value's wire form to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .simpleString(let text):
            buffer.writeStaticString("+")
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .error(let text):
            buffer.writeStaticString("-")
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .integer(let number):
            buffer.writeStaticString(":")
            buffer.writeString(String(number))
            buffer.writeStaticString("\r\n")
        case .bulkString(nil):
            buffer.writeStaticString("$-1\r\n")
        case .bulkString(let bytes?):
            buffer.writeStaticString("$")
            buffer.writeString(String(bytes.readableBytes))
            buffer.writeStaticString("\r\n")
            buffer.writeImmutableBuffer(bytes)
            buffer.writeStaticString("\r\n")
        case .array(nil):
            buffer.writeStaticString("*-1\r\n")
        case .array(let items?):
            buffer.writeStaticString("*")
            buffer.writeString(String(items.count))
            buffer.writeStaticString("\r\n")
            for item in items { item.write(to: &buffer) }
        }
    }
}

import NIOCore

/// Reads RESP2 values from bytes as they arrive. `next(from:)` consumes one whole value, or
/// nothing when the value is not complete yet; bytes that are not RESP throw, and limits keep a
/// hostile or broken peer from making the client allocate without bound.
public struct RESPParser: Sendable {
    /// Largest bulk string accepted (Redis itself allows 512 MB; Courier's values are small).
    public var maxBulkBytes = 16 * 1024 * 1024
    /// Most elements of one array.
    public var maxArrayCount = 1024 * 1024
    /// Deepest nesting of arrays.
    public var maxDepth = 32
    /// Longest line (a simple string, an error, a number).
    public var maxLineBytes = 64 * 1024

    public init() {}

    /// What makes bytes not RESP.
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { "malformed RESP: \(reason)" }
    }

    /// The next whole value in `buffer`, consuming it; nil (consuming nothing) when more bytes are needed.
    public func next(from buffer: inout ByteBuffer) throws -> RESPValue? {
        var copy = buffer
        guard let value = try parse(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    private func parse(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPValue? {
        guard depth <= maxDepth else { throw Malformed(reason: "arrays nested deeper than \(maxDepth)") }
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        var body = buffer
        body.moveReaderIndex(forwardBy: 1)
        guard let line = try readLine(&body) else { return nil }
        let value: RESPValue
        switch type {
        case UInt8(ascii: "+"): value = .simpleString(line)
        case UInt8(ascii: "-"): value = .error(line)
        case UInt8(ascii: ":"):
            guard let number = Int64(line) else { throw Malformed(reason: "integer '\(line.prefix(32))'") }
            value = .integer(number)
        case UInt8(ascii: "$"):
            guard let length = Int(line), length >= -1 else { throw Malformed(reason: "bulk length '\(line.prefix(32))'") }
            if length == -1 {
                value = .bulkString(nil)
            } else {
                guard length <= maxBulkBytes else { throw Malformed(reason: "bulk string of \(length) bytes") }
                guard body.readableBytes >= length + 2 else { return nil }
                let bytes = body.readSlice(length: length)!
                guard body.readInteger(as: UInt8.self) == UInt8(ascii: "\r"), body.readInteger(as: UInt8.self) == UInt8(ascii: "\n") else {
                    throw Malformed(reason: "bulk string not ended by CRLF")
                }
                value = .bulkString(bytes)
            }
        case UInt8(ascii: "*"):
            guard let count = Int(line), count >= -1 else { throw Malformed(reason: "array length '\(line.prefix(32))'") }
            if count == -1 {
                value = .array(nil)
            } else {
                guard count <= maxArrayCount else { throw Malformed(reason: "array of \(count) elements") }
                var items: [RESPValue] = []
                items.reserveCapacity(min(count, 1024))
                for _ in 0..<count {
                    guard let item = try parse(&body, depth: depth + 1) else { return nil }
                    items.append(item)
                }
                value = .array(items)
            }
        default:
            throw Malformed(reason: "type byte \(type)")
        }
        buffer = body
        return value
    }

    /// A CRLF-terminated line (without it), nil when it has not all arrived.
    private func readLine(_ buffer: inout ByteBuffer) throws -> String? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")) else {
            if view.count > maxLineBytes { throw Malformed(reason: "line longer than \(maxLineBytes) bytes") }
            return nil
        }
        let length = cr - view.startIndex
        guard length <= maxLineBytes else { throw Malformed(reason: "line longer than \(maxLineBytes) bytes") }
        guard buffer.readableBytes >= length + 2 else { return nil }
        guard buffer.getInteger(at: buffer.readerIndex + length + 1, as: UInt8.self) == UInt8(ascii: "\n") else {
            throw Malformed(reason: "CR not followed by LF")
        }
        let text = buffer.readString(length: length)!
        buffer.moveReaderIndex(forwardBy: 2)
        return text
    }
}

import Foundation

/// The output of a `StreamingJSONEncoder` run: the bytes written so far and the stack of objects
/// and arrays still open. Containers refer to their place on the stack by index and serial
/// number, so one written to after it was closed is noticed (`NotStreamable`).
final class JSONStreamWriter {
    /// An encoding that cannot be written in one pass; `StreamingJSONEncoder` falls back to
    /// `JSONEncoder` for it.
    struct NotStreamable: Error {}

    struct OpenContainer {
        let serial: Int
        let isObject: Bool
        var count: Int
    }

    // Unchecked: one run is single-threaded and never hands out overlapping accesses, and the
    // dynamic exclusivity checks on these were a third of the writer's time.
    @exclusivity(unchecked) var bytes: [UInt8] = []
    @exclusivity(unchecked) private(set) var open: [OpenContainer] = []
    @exclusivity(unchecked) private var lastSerial = 0
    let dateEncoding: StreamingJSONEncoder.DateEncoding

    init(dateEncoding: StreamingJSONEncoder.DateEncoding) {
        self.dateEncoding = dateEncoding
        bytes.reserveCapacity(1024)
    }

    /// Set when a write failed or could not be streamed: an `encode(to:)` that swallowed the error
    /// (`try?`) would otherwise leave a key without its value, so the run falls back instead.
    @exclusivity(unchecked) var failed = false

    func writeTopLevel<T: Encodable>(_ value: T) throws {
        // `JSONEncoder` refuses a top-level value that encodes nothing; so does this.
        guard try writeValue(value, parent: nil, key: nil) else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        if failed { throw NotStreamable() }
    }

    // MARK: Containers

    /// Opens an object or array at the current position; returns its place on the stack.
    func push(object: Bool) -> (index: Int, serial: Int) {
        lastSerial += 1
        open.append(OpenContainer(serial: lastSerial, isObject: object, count: 0))
        bytes.append(object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        return (open.count - 1, lastSerial)
    }

    /// Closes the containers nested deeper than `depth` (their encoders are done with them).
    func close(deeperThan depth: Int) {
        while open.count > depth {
            bytes.append(open.removeLast().isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    /// Makes the container at `index` the innermost open one and starts its next element (a
    /// comma after the first). Throws `NotStreamable` if that container was closed already.
    func beginElement(in index: Int, serial: Int) throws {
        guard index < open.count, open[index].serial == serial else {
            failed = true
            throw NotStreamable()
        }
        close(deeperThan: index + 1)
        if open[index].count > 0 { bytes.append(UInt8(ascii: ",")) }
        open[index].count += 1
    }

    func count(of index: Int, serial: Int) -> Int {
        index < open.count && open[index].serial == serial ? open[index].count : 0
    }

    func writeKey(_ key: some CodingKey) {
        writeString(key.stringValue)
        bytes.append(UInt8(ascii: ":"))
    }

    // MARK: Values

    /// Writes any `Encodable` at the current position: the types `JSONEncoder` writes in its own
    /// way first, then the value's own `encode(to:)`, through an encoder whose containers open here.
    /// Returns false when the value's encoding wrote nothing (then `{}` was written for it).
    @discardableResult
    func writeValue<T: Encodable>(_ value: T, parent: CodingPathNode?, key: (any CodingKey)?) throws -> Bool {
        let type = ObjectIdentifier(T.self)
        if type == ObjectIdentifier(String.self) {
            writeString(value as! String)
            return true
        } else if type == ObjectIdentifier(Date.self), dateEncoding == .iso8601 {
            writeString((value as! Date).formatted(.iso8601))
            return true
        } else if type == ObjectIdentifier(Data.self) {
            writeString((value as! Data).base64EncodedString())
            return true
        } else if type == ObjectIdentifier(URL.self) {
            writeString((value as! URL).absoluteString)
            return true
        } else if type == ObjectIdentifier(Decimal.self) {
            bytes.append(contentsOf: (value as! Decimal).description.utf8)
            return true
        }
        let depth = open.count
        let start = bytes.count
        let encoder = StreamingValueEncoder(writer: self, depth: depth, parent: parent, key: key)
        do {
            try value.encode(to: encoder)
        } catch {
            failed = true
            throw error
        }
        close(deeperThan: depth)
        // A value that encoded nothing is an empty object, as with `JSONEncoder`.
        guard bytes.count == start else { return true }
        bytes.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")])
        return false
    }

    func writeNull() {
        bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }

    func writeBool(_ value: Bool) {
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    func writeInteger<I: BinaryInteger>(_ value: I) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            writeDigits(UInt64(value.magnitude))
        } else {
            writeDigits(UInt64(value))
        }
    }

    private func writeDigits(_ value: UInt64) {
        guard value >= 10 else { return bytes.append(UInt8(ascii: "0") + UInt8(value)) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var first = digits.count
            var rest = value
            while rest > 0 {
                first -= 1
                digits[first] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[first...]))
        }
    }

    /// A floating-point number as `JSONEncoder` writes it: Swift's shortest form, without a
    /// trailing `.0`; infinities and NaN are refused.
    func writeFloatingPoint<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, codingPath: @autoclosure () -> [any CodingKey]) throws {
        guard value.isFinite else {
            failed = true
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath(), debugDescription: "Unable to encode \(F.self).\(value) directly in JSON."))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
    }

    /// A JSON string: `"`, `\` and `/` escaped, control characters as `\b`, `\f`, `\n`, `\r`,
    /// `\t` or `\u00XX`, everything else as its UTF-8.
    ///
    /// The bytes to escape are found by C's `strcspn` and the runs between them appended whole:
    /// a loop over each byte in Swift ran about 40 times slower than `JSONEncoder` in debug builds
    /// (the tests'), where a catch-up of a few hundred long messages then took seconds.
    func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        let length = text.utf8.count
        text.withCString { start in
            start.withMemoryRebound(to: UInt8.self, capacity: length + 1) { utf8 in
                var position = 0
                while true {
                    // The NUL that ends the C string stops the search too: at `length` it is the
                    // end, before it a NUL in the text, escaped like the other control characters.
                    let plain = Self.escaped.withUnsafeBufferPointer { strcspn(start + position, $0.baseAddress!) }
                    bytes.append(contentsOf: UnsafeBufferPointer(start: utf8 + position, count: plain))
                    position += plain
                    // A run of bytes to escape is escaped here: a `strcspn` call per escaped byte
                    // (it builds its table each call) made text full of `/` or newlines 4-5x slower.
                    while position < length, Self.needsEscape(utf8[position]) {
                        appendEscape(of: utf8[position])
                        position += 1
                    }
                    guard position < length else { break }
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// What `writeString` escapes, as a C string for `strcspn`: the control characters (NUL is
    /// the terminator, which `strcspn` stops at anyway), `"`, `\` and `/`.
    private static let escaped: [CChar] = (Array(0x01..<0x20) + [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), 0]).map { CChar(bitPattern: $0) }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "/")
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private func appendEscape(of byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(byte)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            let hex = Self.hexDigits
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }
    }
}

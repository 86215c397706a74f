/// A single value of a `StreamingJSONEncoder` run, written where its encoder's value goes; a
/// second value, or one after a container, is an error, as with `JSONEncoder`.
struct StreamingSingleValueContainer: SingleValueEncodingContainer {
    let encoder: StreamingValueEncoder

    var codingPath: [any CodingKey] { encoder.codingPath }
    private var writer: JSONStreamWriter { encoder.writer }

    private func begin() throws {
        guard case .nothing = encoder.opened else {
            throw EncodingError.invalidValue((), .init(codingPath: codingPath, debugDescription: "A single value container was asked for a second value."))
        }
        guard writer.open.count == encoder.depth else { throw JSONStreamWriter.NotStreamable() }
        encoder.opened = .single
    }

    mutating func encodeNil() throws { try begin(); writer.writeNull() }
    mutating func encode(_ value: Bool) throws { try begin(); writer.writeBool(value) }
    mutating func encode(_ value: String) throws { try begin(); writer.writeString(value) }
    mutating func encode(_ value: Double) throws { try begin(); try writer.writeFloatingPoint(value, codingPath: codingPath) }
    mutating func encode(_ value: Float) throws { try begin(); try writer.writeFloatingPoint(value, codingPath: codingPath) }
    mutating func encode(_ value: Int) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: Int8) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: Int16) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: Int32) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: Int64) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: UInt) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: UInt8) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: UInt16) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: UInt32) throws { try begin(); writer.writeInteger(value) }
    mutating func encode(_ value: UInt64) throws { try begin(); writer.writeInteger(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try begin()
        try writer.writeValue(value, parent: encoder.pathNode, key: nil)
    }
}

/// What a `superEncoder` gives: its containers refuse every value with `NotStreamable` (a super
/// encoder's value lands in its container later than the streaming writer has moved on), so
/// `StreamingJSONEncoder` encodes the whole value with `JSONEncoder` instead.
struct UnstreamableEncoder: Encoder {
    let writer: JSONStreamWriter
    let path: CodingPathNode?

    /// Marks the run as one to hand to `JSONEncoder` even if nothing is written through this
    /// encoder (`JSONEncoder` writes an empty object for it; this run could not).
    init(writer: JSONStreamWriter, path: CodingPathNode?) {
        self.writer = writer
        self.path = path
        writer.failed = true
    }

    var codingPath: [any CodingKey] { CodingPathNode.path(of: path) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(StreamingKeyedContainer(writer: writer, index: StreamingKeyedContainer<Key>.unstreamable, serial: 0, path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        StreamingUnkeyedContainer(writer: writer, index: StreamingUnkeyedContainer.unstreamable, serial: 0, path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        UnstreamableSingleValueContainer(codingPath: codingPath)
    }
}

/// The single value container of an `UnstreamableEncoder`.
private struct UnstreamableSingleValueContainer: SingleValueEncodingContainer {
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: Bool) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: String) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: Double) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: Float) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: Int) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: Int8) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: Int16) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: Int32) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: Int64) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: UInt) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: UInt8) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: UInt16) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: UInt32) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode(_ value: UInt64) throws { throw JSONStreamWriter.NotStreamable() }
    mutating func encode<T: Encodable>(_ value: T) throws { throw JSONStreamWriter.NotStreamable() }
}

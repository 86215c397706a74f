/// An object of a `StreamingJSONEncoder` run: each `encode` writes `"key":value` at the end of
/// the output, after closing whatever was nested in the object before.
struct StreamingKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    /// The index of a container its encoder could not give (it had another kind already).
    static var mixed: Int { -1 }
    /// The index of a container that cannot be written in one pass (`NotStreamable`).
    static var unstreamable: Int { -2 }

    let writer: JSONStreamWriter
    let index: Int
    let serial: Int
    let path: CodingPathNode?

    var codingPath: [any CodingKey] { CodingPathNode.path(of: path) }

    private func begin(_ key: Key) throws {
        guard index != Self.mixed else { throw StreamingValueEncoder.mixedContainers(codingPath) }
        guard index != Self.unstreamable else { throw JSONStreamWriter.NotStreamable() }
        try writer.beginElement(in: index, serial: serial)
        writer.writeKey(key)
    }

    mutating func encodeNil(forKey key: Key) throws { try begin(key); writer.writeNull() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try begin(key); writer.writeBool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { try begin(key); writer.writeString(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try begin(key)
        try writer.writeFloatingPoint(value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try begin(key)
        try writer.writeFloatingPoint(value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try begin(key); writer.writeInteger(value) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        try writer.writeValue(value, parent: path, key: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        do {
            try begin(key)
        } catch {
            let index = error is JSONStreamWriter.NotStreamable ? Self.unstreamable : Self.mixed
            return KeyedEncodingContainer(StreamingKeyedContainer<NestedKey>(writer: writer, index: index, serial: 0, path: path))
        }
        let (index, serial) = writer.push(object: true)
        return KeyedEncodingContainer(StreamingKeyedContainer<NestedKey>(writer: writer, index: index, serial: serial, path: CodingPathNode(parent: path, key: key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        do {
            try begin(key)
        } catch {
            let index = error is JSONStreamWriter.NotStreamable ? Self.unstreamable : Self.mixed
            return StreamingUnkeyedContainer(writer: writer, index: index, serial: 0, path: path)
        }
        let (index, serial) = writer.push(object: false)
        return StreamingUnkeyedContainer(writer: writer, index: index, serial: serial, path: CodingPathNode(parent: path, key: key))
    }

    /// A super encoder writes into its container later, out of order: not streamable.
    mutating func superEncoder() -> any Encoder { UnstreamableEncoder(writer: writer, path: path) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { UnstreamableEncoder(writer: writer, path: path) }
}

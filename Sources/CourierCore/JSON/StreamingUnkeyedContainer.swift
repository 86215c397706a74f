/// An array of a `StreamingJSONEncoder` run: each `encode` writes the next element at the end of
/// the output, after closing whatever was nested in the array before.
struct StreamingUnkeyedContainer: UnkeyedEncodingContainer {
    static var mixed: Int { StreamingKeyedContainer<ArrayIndexKey>.mixed }
    static var unstreamable: Int { StreamingKeyedContainer<ArrayIndexKey>.unstreamable }

    let writer: JSONStreamWriter
    let index: Int
    let serial: Int
    let path: CodingPathNode?

    var codingPath: [any CodingKey] { CodingPathNode.path(of: path) }
    var count: Int { writer.count(of: index, serial: serial) }

    private func begin() throws {
        guard index != Self.mixed else { throw StreamingValueEncoder.mixedContainers(codingPath) }
        guard index != Self.unstreamable else { throw JSONStreamWriter.NotStreamable() }
        try writer.beginElement(in: index, serial: serial)
    }

    /// The key of the element just begun.
    private var lastKey: ArrayIndexKey { ArrayIndexKey(count - 1) }

    mutating func encodeNil() throws { try begin(); writer.writeNull() }
    mutating func encode(_ value: Bool) throws { try begin(); writer.writeBool(value) }
    mutating func encode(_ value: String) throws { try begin(); writer.writeString(value) }
    mutating func encode(_ value: Double) throws { try begin(); try writer.writeFloatingPoint(value, codingPath: codingPath + [lastKey]) }
    mutating func encode(_ value: Float) throws { try begin(); try writer.writeFloatingPoint(value, codingPath: codingPath + [lastKey]) }
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
        try writer.writeValue(value, parent: path, key: lastKey)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        do {
            try begin()
        } catch {
            let index = error is JSONStreamWriter.NotStreamable ? Self.unstreamable : Self.mixed
            return KeyedEncodingContainer(StreamingKeyedContainer<NestedKey>(writer: writer, index: index, serial: 0, path: path))
        }
        let key = lastKey
        let (index, serial) = writer.push(object: true)
        return KeyedEncodingContainer(StreamingKeyedContainer<NestedKey>(writer: writer, index: index, serial: serial, path: CodingPathNode(parent: path, key: key)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        do {
            try begin()
        } catch {
            let index = error is JSONStreamWriter.NotStreamable ? Self.unstreamable : Self.mixed
            return StreamingUnkeyedContainer(writer: writer, index: index, serial: 0, path: path)
        }
        let key = lastKey
        let (index, serial) = writer.push(object: false)
        return StreamingUnkeyedContainer(writer: writer, index: index, serial: serial, path: CodingPathNode(parent: path, key: key))
    }

    mutating func superEncoder() -> any Encoder { UnstreamableEncoder(writer: writer, path: path) }
}

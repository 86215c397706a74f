/// The `Encoder` a value's `encode(to:)` gets from `StreamingJSONEncoder`: its containers write
/// at the place in the output where the value goes. It may ask for the same kind of container
/// more than once (both write into one object or array); mixing kinds is an error, as with
/// `JSONEncoder`.
final class StreamingValueEncoder: Encoder {
    enum Opened {
        case nothing
        case keyed(index: Int, serial: Int)
        case unkeyed(index: Int, serial: Int)
        case single
    }

    let writer: JSONStreamWriter
    /// How many containers were open when this value began: its own container goes at this index.
    let depth: Int
    private let parent: CodingPathNode?
    private let key: (any CodingKey)?
    @exclusivity(unchecked) private var node: CodingPathNode?
    @exclusivity(unchecked) var opened = Opened.nothing

    init(writer: JSONStreamWriter, depth: Int, parent: CodingPathNode?, key: (any CodingKey)?) {
        self.writer = writer
        self.depth = depth
        self.parent = parent
        self.key = key
    }

    /// The node of this value's place, for its containers and the values in them.
    var pathNode: CodingPathNode? {
        guard let key else { return parent }
        if let node { return node }
        let made = CodingPathNode(parent: parent, key: key)
        node = made
        return made
    }

    var codingPath: [any CodingKey] { CodingPathNode.path(of: pathNode) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        switch opened {
        case .nothing:
            let (index, serial) = writer.push(object: true)
            opened = .keyed(index: index, serial: serial)
            return KeyedEncodingContainer(StreamingKeyedContainer(writer: writer, index: index, serial: serial, path: pathNode))
        case .keyed(let index, let serial):
            return KeyedEncodingContainer(StreamingKeyedContainer(writer: writer, index: index, serial: serial, path: pathNode))
        case .unkeyed, .single:
            return KeyedEncodingContainer(StreamingKeyedContainer(writer: writer, index: StreamingKeyedContainer<Key>.mixed, serial: 0, path: pathNode))
        }
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        switch opened {
        case .nothing:
            let (index, serial) = writer.push(object: false)
            opened = .unkeyed(index: index, serial: serial)
            return StreamingUnkeyedContainer(writer: writer, index: index, serial: serial, path: pathNode)
        case .unkeyed(let index, let serial):
            return StreamingUnkeyedContainer(writer: writer, index: index, serial: serial, path: pathNode)
        case .keyed, .single:
            return StreamingUnkeyedContainer(writer: writer, index: StreamingUnkeyedContainer.mixed, serial: 0, path: pathNode)
        }
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        StreamingSingleValueContainer(encoder: self)
    }

    /// An error for a value that asks for two kinds of container (a bug in its `encode(to:)`).
    static func mixedContainers(_ path: [any CodingKey]) -> EncodingError {
        EncodingError.invalidValue((), .init(codingPath: path, debugDescription: "A value asked for two kinds of encoding container."))
    }
}

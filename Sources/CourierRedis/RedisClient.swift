import NIOCore
import NIOPosix

/// A small pool of Redis connections: commands go to them in turn, and a connection that broke
/// is replaced on the next use, so a Redis restart costs the commands in flight, nothing more.
public actor RedisClient {
    public let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private var connections: [RedisConnection?]
    private var next = 0

    public init(configuration: RedisConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        self.connections = Array(repeating: nil, count: max(1, configuration.poolSize))
    }

    /// Sends a command on one of the pool's connections.
    @discardableResult
    public func send(_ parts: [String]) async throws -> RESPValue {
        try await connection().send(parts)
    }

    /// Sends commands together on one connection; their answers in order.
    public func pipeline(_ commands: [[String]]) async throws -> [RESPValue] {
        try await connection().pipeline(commands)
    }

    /// Ends every connection of Redis's that named itself `name` (see
    /// `RedisConfiguration.clientName`), as a restart of Redis would end them; how many it ended.
    /// Tests use it to break exactly their own connections on a Redis others share.
    @discardableResult
    public func cutConnections(named name: String) async throws -> Int {
        let listing = try await send(["CLIENT", "LIST"]).string ?? ""
        var cut = 0
        for line in listing.split(whereSeparator: \.isNewline) {
            let fields = Dictionary(line.split(separator: " ").compactMap { field -> (Substring, Substring)? in
                guard let equals = field.firstIndex(of: "=") else { return nil }
                return (field[..<equals], field[field.index(after: equals)...])
            }, uniquingKeysWith: { first, _ in first })
            guard fields["name"] == Substring(name), let id = fields["id"] else { continue }
            cut += Int(try await send(["CLIENT", "KILL", "ID", String(id)]).int ?? 0)
        }
        return cut
    }

    /// Closes every connection.
    public func close() async {
        for case let connection? in connections { await connection.close() }
        connections = connections.map { _ in nil }
    }

    private func connection() async throws -> RedisConnection {
        let slot = next
        next = (next + 1) % connections.count
        if let existing = connections[slot], existing.isActive { return existing }
        let fresh = try await RedisConnection.connect(configuration, group: group)
        if let raced = connections[slot], raced.isActive {
            // Another caller filled the slot while this one connected.
            await fresh.close()
            return raced
        }
        connections[slot] = fresh
        return fresh
    }
}

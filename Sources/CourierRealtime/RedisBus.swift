import CourierRedis
import Foundation
import NIOCore

/// The bus of several nodes: events are published on a Redis channel that every node subscribes
/// to, this one included.
///
/// Redis pub/sub keeps nothing for a subscriber that is away, so an event can be lost (Redis
/// restarted, a node's connection dropped). The database stays the truth: when the subscription
/// comes back, the bus says `.resync`, and the node makes each of its devices catch up from the
/// update log. A lost event costs latency, never a message.
public final class RedisBus: Bus {
    private let client: RedisClient
    private let subscriber: RedisSubscriber
    private let channel: String
    private let stream: AsyncStream<BusEvent>
    private let pump: Task<Void, Never>

    public init(configuration: RedisConfiguration, channel: String = "courier:bus") {
        self.client = RedisClient(configuration: configuration)
        self.subscriber = RedisSubscriber(configuration: configuration, channels: [channel])
        self.channel = channel
        let (stream, continuation) = AsyncStream.makeStream(of: BusEvent.self, bufferingPolicy: .unbounded)
        self.stream = stream
        let events = subscriber.events
        self.pump = Task {
            let decoder = JSONDecoder()
            for await event in events {
                switch event {
                case .message(_, let payload):
                    if let decoded = try? decoder.decode(BusEvent.self, from: Data(payload.readableBytesView)) { continuation.yield(decoded) }
                case .resubscribed:
                    continuation.yield(.resync)
                }
            }
            continuation.finish()
        }
    }

    public func publish(_ event: BusEvent) async throws {
        let payload = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        try await client.send(["PUBLISH", channel, payload])
    }

    public func events() -> AsyncStream<BusEvent> { stream }

    /// Ends the subscription and closes the connections.
    public func close() async {
        subscriber.stop()
        pump.cancel()
        await client.close()
    }
}

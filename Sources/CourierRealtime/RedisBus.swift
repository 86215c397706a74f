import CourierRedis
import Foundation
import NIOCore
import Synchronization

/// The bus of several nodes: events are published on a Redis channel that every node subscribes
/// to, this one included.
///
/// Only hints travel for stored updates (`UpdateHint`: streams and positions, no content); each node
/// reads what its sockets need from the database. Redis pub/sub keeps nothing for a subscriber that
/// is away, so a hint can be lost (Redis restarted, a node's connection dropped): when this node's
/// subscription comes back, the bus says `.resync` and every device of the node catches up from the
/// update log; when a publish fails, every node is asked to do the same once Redis answers again.
/// A lost hint costs latency, never a message.
public final class RedisBus: Bus {
    private let client: RedisClient
    private let subscriber: RedisSubscriber
    private let channel: String
    private let stream: AsyncStream<BusEvent>
    private let pump: Task<Void, Never>
    private let repair: Task<Void, Never>
    /// This node, to tell its own hints (delivered here already) from the others'.
    public let nodeID = UUID()
    /// Set when a publish failed: other nodes may have missed something.
    private let lost = LossFlag()

    /// Whether something was lost since the last resync request went out.
    final class LossFlag: Sendable {
        private let value = Atomic(false)
        func raise() { value.store(true, ordering: .releasing) }
        var isRaised: Bool { value.load(ordering: .acquiring) }
        func lower() { value.store(false, ordering: .releasing) }
    }

    /// What travels on the channel: an event and the node it comes from.
    struct Envelope: Codable {
        var origin: UUID
        var event: Event

        /// The events that travel; a resync is asked for by a node whose publish failed.
        enum Event: Codable {
            case bus(BusEvent)
            case resyncEveryone
        }
    }

    public init(configuration: RedisConfiguration, channel: String = "courier:bus", retryInterval: Duration = .seconds(1)) {
        let client = RedisClient(configuration: configuration)
        let lost = self.lost
        self.client = client
        self.subscriber = RedisSubscriber(configuration: configuration, channels: [channel])
        self.channel = channel
        let (stream, continuation) = AsyncStream.makeStream(of: BusEvent.self, bufferingPolicy: .unbounded)
        self.stream = stream
        let events = subscriber.events
        let nodeID = self.nodeID
        self.pump = Task {
            let decoder = JSONDecoder()
            for await event in events {
                switch event {
                case .message(_, let payload):
                    guard let envelope = try? decoder.decode(Envelope.self, from: Data(payload.readableBytesView)) else { continue }
                    switch envelope.event {
                    case .bus(.updatesStored) where envelope.origin == nodeID: continue
                    case .bus(let event): continuation.yield(event)
                    case .resyncEveryone: continuation.yield(.resync)
                    }
                case .resubscribed:
                    continuation.yield(.resync)
                }
            }
            continuation.finish()
        }
        // Once a publish failed, asks every node to catch its sockets up as soon as Redis takes it.
        self.repair = Task {
            let request = try? JSONEncoder().encode(Envelope(origin: nodeID, event: .resyncEveryone))
            while !Task.isCancelled {
                try? await Task.sleep(for: retryInterval)
                guard lost.isRaised, let request else { continue }
                if (try? await client.send(["PUBLISH", channel, String(decoding: request, as: UTF8.self)])) != nil {
                    lost.lower()
                }
            }
        }
    }

    public func publish(_ event: BusEvent) async throws {
        try await send(Envelope(origin: nodeID, event: .bus(event)), lossMatters: false)
    }

    public func announce(_ hint: UpdateHint) async throws {
        try await send(Envelope(origin: nodeID, event: .bus(.updatesStored(hint))), lossMatters: true)
    }

    /// Publishes `envelope`. A lost hint matters (devices elsewhere would wait for the next update to
    /// notice the gap); lost typing or presence frames do not, and sign-outs have their own backstop
    /// (the periodic session check).
    private func send(_ envelope: Envelope, lossMatters: Bool) async throws {
        let payload = String(decoding: try JSONEncoder().encode(envelope), as: UTF8.self)
        do {
            try await client.send(["PUBLISH", channel, payload])
        } catch {
            if lossMatters { lost.raise() }
            throw error
        }
    }

    public func events() -> AsyncStream<BusEvent> { stream }

    /// Ends the subscription and closes the connections.
    public func close() async {
        subscriber.stop()
        pump.cancel()
        repair.cancel()
        await client.close()
    }
}

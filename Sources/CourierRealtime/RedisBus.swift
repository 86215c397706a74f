import CourierCore
import CourierRedis
import Foundation
import NIOCore
import Synchronization

/// The bus of several nodes: events are published on a Redis channel that every node subscribes
/// to, this one included.
///
/// Only hints travel for stored updates (`UpdateHint`: streams and positions, no content); each node
/// reads what its sockets need from the database. Publishing never holds the caller up (a message's
/// ack does not wait for Redis): events go out in order from an outbox, and while Redis does not
/// answer they wait there and go out once it does. Redis pub/sub keeps nothing for a subscriber that
/// is away, so an event can still be lost (Redis restarted, a node's subscription dropped): when this
/// node's subscription comes back, the bus says `.resync` and every device of the node catches up
/// from the update log; when the outbox had to drop events (it holds `outboxLimit`), every node is
/// asked to do the same once Redis answers again. A lost hint costs latency, never a message.
public final class RedisBus: Bus {
    private let client: RedisClient
    private let subscriber: RedisSubscriber
    private let channel: String
    private let stream: AsyncStream<BusEvent>
    private let pump: Task<Void, Never>
    private let publisher: Task<Void, Never>
    private let outbox: AsyncStream<Outgoing>.Continuation
    /// This node, to tell its own hints (delivered here already) from the others'.
    public let nodeID = UUID.random()
    /// Set when the outbox dropped events: other nodes may have missed something.
    private let lost = LossFlag()

    /// Events waiting for Redis at most; past that, new ones are dropped and every node resyncs.
    public static let outboxLimit = 20_000
    /// How long a frame of an ephemeral event (typing, presence, call signalling) may wait for
    /// Redis before it is not worth sending any more.
    static let ephemeralLifetime = Duration.seconds(10)

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

        /// The events that travel; a resync is asked for by a node whose outbox dropped events.
        enum Event: Codable {
            case bus(BusEvent)
            case resyncEveryone
        }
    }

    private struct Outgoing: Sendable {
        let payload: String
        let queuedAt: ContinuousClock.Instant
        let isEphemeral: Bool
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
        let (queued, outbox) = AsyncStream.makeStream(of: Outgoing.self, bufferingPolicy: .bufferingOldest(Self.outboxLimit))
        self.outbox = outbox
        // Publishes in order; an event Redis does not take is tried again until it does.
        self.publisher = Task {
            let resync = String(decoding: (try? JSONEncoder().encode(Envelope(origin: nodeID, event: .resyncEveryone))) ?? Data(), as: UTF8.self)
            for await item in queued {
                while !Task.isCancelled {
                    if item.isEphemeral, ContinuousClock.now - item.queuedAt > Self.ephemeralLifetime { break }
                    do {
                        try await client.send(["PUBLISH", channel, item.payload])
                        if lost.isRaised, (try? await client.send(["PUBLISH", channel, resync])) != nil { lost.lower() }
                        break
                    } catch {
                        try? await Task.sleep(for: retryInterval)
                    }
                }
            }
        }
    }

    public func publish(_ event: BusEvent) async throws {
        let isEphemeral = if case .delivery = event { true } else { false }
        try enqueue(Envelope(origin: nodeID, event: .bus(event)), isEphemeral: isEphemeral)
    }

    public func announce(_ hint: UpdateHint) async throws {
        try enqueue(Envelope(origin: nodeID, event: .bus(.updatesStored(hint))), isEphemeral: false)
    }

    private func enqueue(_ envelope: Envelope, isEphemeral: Bool) throws {
        let payload = String(decoding: try JSONEncoder().encode(envelope), as: UTF8.self)
        if case .dropped = outbox.yield(Outgoing(payload: payload, queuedAt: .now, isEphemeral: isEphemeral)) {
            lost.raise()
        }
    }

    public func events() -> AsyncStream<BusEvent> { stream }

    /// Ends the subscription and closes the connections (what the outbox still holds is dropped).
    public func close() async {
        subscriber.stop()
        pump.cancel()
        outbox.finish()
        publisher.cancel()
        await client.close()
    }
}

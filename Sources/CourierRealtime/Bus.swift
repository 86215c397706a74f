/// Carries deliveries from the node where an event happened to every node, each of which hands
/// them to its own connections.
///
/// In-process by default; a Redis implementation lets several nodes serve one deployment.
public protocol Bus: Sendable {
    /// Sends a delivery to every node, this one included.
    func publish(_ delivery: Delivery) async throws

    /// The deliveries published on any node, for this node's connections. One consumer per node.
    func deliveries() -> AsyncStream<Delivery>
}

/// The bus of a single node: a delivery published here is delivered here.
public final class InProcessBus: Bus {
    private let stream: AsyncStream<Delivery>
    private let continuation: AsyncStream<Delivery>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Delivery.self, bufferingPolicy: .unbounded)
    }

    public func publish(_ delivery: Delivery) async throws {
        continuation.yield(delivery)
    }

    public func deliveries() -> AsyncStream<Delivery> { stream }

    deinit { continuation.finish() }
}

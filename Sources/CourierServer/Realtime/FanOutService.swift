import CourierRealtime
import ServiceLifecycle

/// Hands every delivery that arrives on the bus to this node's connections.
struct FanOutService: Service {
    let bus: any Bus
    let registry: ConnectionRegistry

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await delivery in bus.deliveries() {
                await registry.deliver(delivery)
            }
        }
    }
}

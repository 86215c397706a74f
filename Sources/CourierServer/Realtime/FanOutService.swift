import CourierRealtime
import ServiceLifecycle

/// Applies every event that arrives on the bus to this node's connections: frames are queued on
/// the recipients' devices, other nodes' stored updates are read from the log for the devices here,
/// signed-out sessions have their sockets closed, and after a break in the bus every socket is
/// closed with `catch_up`, so its device resumes from the update log.
struct FanOutService: Service {
    let bus: any Bus
    let registry: ConnectionRegistry
    let remoteUpdates: RemoteUpdateReader
    /// Wakes the Telegram relay's sender (on whichever node it runs) for a new message.
    let newMessageStored: @Sendable () -> Void
    /// Wakes the media worker (on whichever node it runs) for new background work.
    let mediaWorkQueued: @Sendable () -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await event in bus.events() {
                switch event {
                case .delivery(let delivery): await registry.deliver(delivery)
                case .updatesStored(let hint):
                    if hint.hasNewMessage { newMessageStored() }
                    await remoteUpdates.received(hint)
                case .sessionsEnded(let ended): await registry.close(ended)
                case .mediaWorkQueued: mediaWorkQueued()
                case .resync: await registry.closeAll(.catchUp)
                }
            }
        }
    }
}

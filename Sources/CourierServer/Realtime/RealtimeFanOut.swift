import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// The real-time subscriber of "update stored": each update to this node's devices of those who
/// see it (chat updates in order through the `ChatUpdateSequencer`, a person's own at once), then
/// a hint to the other nodes, which read the updates from the log for theirs (`RemoteUpdateReader`).
struct RealtimeFanOut: UpdateSubscriber {
    let delivery: LocalDelivery
    let sequencer: ChatUpdateSequencer
    let bus: any Bus
    let logger: Logger

    init(
        registry: ConnectionRegistry, bus: any Bus, chats: ChatStore, messages: MessageStore, updates: UpdateStore, metrics: ServerMetrics?, logger: Logger
    ) {
        self.delivery = LocalDelivery(registry: registry, chats: chats, messages: messages, logger: logger, metrics: metrics)
        self.sequencer = ChatUpdateSequencer(delivery: delivery, updates: updates, startsFromLog: !(bus is InProcessBus), logger: logger)
        self.bus = bus
        self.logger = logger
    }

    func updatesStored(_ stored: StoredUpdates) async {
        await sequencer.stored(stored.updates.chat, messages: stored.messages, members: stored.members, excluding: stored.excludedConnection)
        if !stored.updates.account.isEmpty {
            await delivery.deliver(StoredUpdates(
                updates: LoggedUpdates(account: stored.updates.account), messages: [:], excludedConnection: stored.excludedConnection
            ))
        }
        let hint = UpdateHint(
            chats: StoredRange.covering(stored.updates.chat.map { ($0.chatID, $0.pts) }),
            accounts: StoredRange.covering(stored.updates.account.map { ($0.userID, $0.pts) }),
            hasNewMessage: stored.updates.chat.contains { $0.kind == .newMessage }
        )
        do {
            try await bus.announce(hint)
        } catch {
            logger.warning("updates not announced to the other nodes", metadata: ["error": "\(error)"])
        }
    }
}

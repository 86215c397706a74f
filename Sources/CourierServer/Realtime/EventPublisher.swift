import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging
import Synchronization

/// Announces what happened: updates the log stored (a message, an edit, a read mark, a
/// membership change, …) to every subscriber of "update stored" (real-time fan-out, which also
/// hints the other nodes; the Telegram relay), and ephemeral events that are not logged (typing,
/// presence, sockets to close) on the bus.
///
/// Services call it after the change is committed. A failure to publish is logged, never reported
/// to the caller: the change and its update are stored, and devices catch up from the log.
public final class EventPublisher: Sendable {
    let bus: any Bus
    let chats: ChatStore
    let logger: Logger
    /// Delivers stored updates to this node's sockets and hints the other nodes.
    let fanOut: RealtimeFanOut
    private let subscribers: Mutex<[any UpdateSubscriber]>

    public init(
        bus: any Bus, registry: ConnectionRegistry, chats: ChatStore, messages: MessageStore, updates: UpdateStore, metrics: ServerMetrics? = nil,
        logger: Logger
    ) {
        self.bus = bus
        self.chats = chats
        self.logger = logger
        self.fanOut = RealtimeFanOut(registry: registry, bus: bus, chats: chats, messages: messages, updates: updates, metrics: metrics, logger: logger)
        self.subscribers = Mutex([fanOut])
    }

    /// Adds a subscriber of "update stored" (when the node is assembled).
    public func subscribe(_ subscriber: any UpdateSubscriber) {
        subscribers.withLock { $0.append(subscriber) }
    }

    /// Updates stored by one change, to every subscriber. `messages` are the messages the updates
    /// are about, as they are now; `members`, chats' members the change's transaction read.
    /// `connection` caused the change and gets an ack instead.
    func stored(_ updates: LoggedUpdates, messages: [Message] = [], members: [UUID: [UUID]] = [:], excluding connection: UUID? = nil) async {
        guard !updates.isEmpty else { return }
        let event = StoredUpdates(
            updates: updates, messages: Dictionary(messages.map { ($0.id, $0) }, uniquingKeysWith: { _, latest in latest }),
            excludedConnection: connection, members: members
        )
        for subscriber in subscribers.withLock({ $0 }) {
            await subscriber.updatesStored(event)
        }
    }

    func typing(chatID: UUID, kind: ChatKind, by userID: UUID) async {
        let frame = ServerFrame.text(ServerFrame.Typing(chatID: chatID.lowercasedString, userID: userID.lowercasedString))
        do {
            // In a channel only its owner and admins hear it: subscribers do not see each other.
            let audience = kind == .channel ? try await chats.managerIDs(of: chatID) : try await chats.memberIDs(of: chatID)
            await send(Delivery(recipients: audience.filter { $0 != userID }, frame: frame))
        } catch {
            logger.warning("event not published", metadata: ["chat_id": "\(chatID)", "error": "\(error)"])
        }
    }

    func presence(of userID: UUID, online: Bool, lastSeen: Timestamp?, to recipients: [UUID]) async {
        guard !recipients.isEmpty else { return }
        let frame = ServerFrame.text(ServerFrame.Presence(userID: userID.lowercasedString, online: online, lastSeen: lastSeen))
        await send(Delivery(recipients: recipients, frame: frame))
    }

    /// Device sessions were signed out: every node closes their sockets.
    func sessionsEnded(_ ended: SessionsEnded) async {
        await publish(.sessionsEnded(ended))
    }

    /// An upload left background work: the node running the media worker wakes up.
    func mediaWorkQueued() async {
        await publish(.mediaWorkQueued)
    }

    /// A frame of an ephemeral event (typing, presence, call signalling) to some devices, on every node.
    func send(_ delivery: Delivery) async {
        await publish(.delivery(delivery))
    }

    private func publish(_ event: BusEvent) async {
        do {
            try await bus.publish(event)
        } catch {
            logger.warning("event not published", metadata: ["error": "\(error)"])
        }
    }
}

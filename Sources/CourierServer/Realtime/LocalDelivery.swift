import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// Queues the frames of stored updates on this node's connections of those who see them: a chat
/// update to the chat's members (read after the commit), a person's own update to their devices.
struct LocalDelivery: Sendable {
    let registry: ConnectionRegistry
    let chats: ChatStore
    let messages: MessageStore
    let logger: Logger
    /// Counts frames queued and, for new messages, the time from storing to queueing.
    var metrics: ServerMetrics?

    /// Queues the frames of `stored`. `members` may give the members of chats already read.
    func deliver(_ stored: StoredUpdates, members known: [UUID: [UUID]] = [:]) async {
        let connection = stored.excludedConnection
        var members = known
        for update in stored.updates.chat {
            let message = update.messageID.flatMap { stored.messages[$0] }
            let position = UpdatePosition(stream: update.chatID, pts: update.pts)
            do {
                if members[update.chatID] == nil { members[update.chatID] = try await chats.memberIDs(of: update.chatID) }
                let recipients = members[update.chatID] ?? []
                // Channels show reactions as counts only: who reacted is for that person alone.
                let isChannel = update.kind == .reactionChanged || message?.reactions.isEmpty == false
                    ? try await chats.find(id: update.chatID)?.kind == .channel : false
                if isChannel, update.kind == .reactionChanged {
                    try await deliverChannelReaction(update, message: message, to: recipients, position: position, excluding: connection)
                    continue
                }
                // An edit or a reaction of a message someone deleted for themselves reaches them without it.
                let hidesMessage = update.kind == .messageEdited || update.kind == .reactionChanged
                let hiders = hidesMessage ? try await update.messageID.asyncMap { try await messages.hiders(of: $0) } ?? [] : []
                let seeing = hiders.isEmpty ? recipients : recipients.filter { !hiders.contains($0) }
                let queued = await registry.deliver(Delivery(
                    recipients: seeing, frame: UpdateFrame(update, message: message, hideReactors: isChannel).text, position: position,
                    excludedConnection: connection
                ))
                record(queued, of: update, message: message)
                let hiding = recipients.filter { hiders.contains($0) }
                if !hiding.isEmpty {
                    await registry.deliver(Delivery(
                        recipients: hiding, frame: UpdateFrame(update, message: message, hiddenFromViewer: true, hideReactors: isChannel).text, position: position,
                        excludedConnection: connection
                    ))
                }
            } catch {
                // The update is stored; the members' devices here find the gap and catch up.
                logger.warning("update not delivered", metadata: ["chat_id": "\(update.chatID)", "error": "\(error)"])
            }
        }
        for update in stored.updates.account {
            await registry.deliver(Delivery(
                recipients: [update.userID], frame: UpdateFrame(update).text,
                position: UpdatePosition(stream: update.userID, pts: update.pts), excludedConnection: connection
            ))
        }
    }

    private func record(_ queued: Int, of update: ChatUpdate, message: Message?) {
        guard let metrics, queued > 0 else { return }
        metrics.deliveries.increment(by: queued)
        if update.kind == .newMessage, let message {
            let milliseconds = max(0, Timestamp.now().milliseconds - message.createdAt.milliseconds)
            for _ in 0..<queued { metrics.deliveryLatency.recordMilliseconds(milliseconds) }
        }
    }

    /// A reaction in a channel: counts for every subscriber, who reacted only for that person.
    private func deliverChannelReaction(
        _ update: ChatUpdate, message: Message?, to recipients: [UUID], position: UpdatePosition, excluding connection: UUID?
    ) async throws {
        let reactor = update.userID
        let others = recipients.filter { $0 != reactor }
        await registry.deliver(Delivery(
            recipients: others, frame: UpdateFrame(update, message: message, hideReactors: true).text, position: position, excludedConnection: connection
        ))
        if let reactor, recipients.contains(reactor) {
            await registry.deliver(Delivery(
                recipients: [reactor], frame: UpdateFrame(update, message: message, hideReactors: true, viewer: reactor).text, position: position,
                excludedConnection: connection
            ))
        }
    }
}

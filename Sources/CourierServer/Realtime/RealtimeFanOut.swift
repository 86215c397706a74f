import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// The real-time subscriber of "update stored": each update as its frame to this node's devices of
/// those who see it (a chat update to the chat's members, read after the commit; a person's own
/// update to their devices), then a hint to the other nodes, which read the updates from the log for
/// theirs (`RemoteUpdateReader`).
struct RealtimeFanOut: UpdateSubscriber {
    let registry: ConnectionRegistry
    let bus: any Bus
    let chats: ChatStore
    let messages: MessageStore
    let logger: Logger

    func updatesStored(_ stored: StoredUpdates) async {
        await deliverHere(stored)
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

    /// Queues the frames of `stored` on this node's connections. `members` may give the members of
    /// chats already read.
    func deliverHere(_ stored: StoredUpdates, members known: [UUID: [UUID]] = [:]) async {
        let connection = stored.excludedConnection
        var members = known
        for update in stored.updates.chat {
            let message = update.messageID.flatMap { stored.messages[$0] }
            let position = UpdatePosition(stream: update.chatID, pts: update.pts)
            do {
                if members[update.chatID] == nil { members[update.chatID] = try await chats.memberIDs(of: update.chatID) }
                let recipients = members[update.chatID] ?? []
                // An edit of a message someone deleted for themselves reaches them without it.
                let hiders = update.kind == .messageEdited ? try await update.messageID.asyncMap { try await messages.hiders(of: $0) } ?? [] : []
                let seeing = hiders.isEmpty ? recipients : recipients.filter { !hiders.contains($0) }
                await registry.deliver(Delivery(
                    recipients: seeing, frame: UpdateFrame(update, message: message).text, position: position, excludedConnection: connection
                ))
                let hiding = recipients.filter { hiders.contains($0) }
                if !hiding.isEmpty {
                    await registry.deliver(Delivery(
                        recipients: hiding, frame: UpdateFrame(update, message: message, hiddenFromViewer: true).text, position: position,
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
}

import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// The real-time subscriber of "update stored": each update as its frame, on the bus, to the
/// devices of those who see it (a chat update to the chat's members, read after the commit; a
/// person's own update to their devices).
struct RealtimeFanOut: UpdateSubscriber {
    let bus: any Bus
    let chats: ChatStore
    let messages: MessageStore
    let logger: Logger

    func updatesStored(_ stored: StoredUpdates) async {
        let connection = stored.excludedConnection
        var members: [UUID: [UUID]] = [:]
        for update in stored.updates.chat {
            let message = update.messageID.flatMap { stored.messages[$0] }
            let position = UpdatePosition(stream: update.chatID, pts: update.pts)
            do {
                if members[update.chatID] == nil { members[update.chatID] = try await chats.memberIDs(of: update.chatID) }
                let recipients = members[update.chatID] ?? []
                // An edit of a message someone deleted for themselves reaches them without it.
                let hiders = update.kind == .messageEdited ? try await update.messageID.asyncMap { try await messages.hiders(of: $0) } ?? [] : []
                let seeing = hiders.isEmpty ? recipients : recipients.filter { !hiders.contains($0) }
                await publish(Delivery(
                    recipients: seeing, frame: UpdateFrame(update, message: message).text, position: position, excludedConnection: connection
                ))
                let hiding = recipients.filter { hiders.contains($0) }
                if !hiding.isEmpty {
                    await publish(Delivery(
                        recipients: hiding, frame: UpdateFrame(update, message: message, hiddenFromViewer: true).text, position: position,
                        excludedConnection: connection
                    ))
                }
            } catch {
                logger.warning("update not published", metadata: ["chat_id": "\(update.chatID)", "error": "\(error)"])
            }
        }
        for update in stored.updates.account {
            await publish(Delivery(
                recipients: [update.userID], frame: UpdateFrame(update).text,
                position: UpdatePosition(stream: update.userID, pts: update.pts), excludedConnection: connection
            ))
        }
    }

    private func publish(_ delivery: Delivery) async {
        do {
            try await bus.publish(.delivery(delivery))
        } catch {
            logger.warning("update not published", metadata: ["error": "\(error)"])
        }
    }
}

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
    let logger: Logger

    func updatesStored(_ stored: StoredUpdates) async {
        let connection = stored.excludedConnection
        for update in stored.updates.chat {
            let frame = UpdateFrame(update, message: update.messageID.flatMap { stored.messages[$0] })
            do {
                let recipients = try await chats.memberIDs(of: update.chatID)
                await publish(Delivery(
                    recipients: recipients, frame: frame.text, position: UpdatePosition(stream: update.chatID, pts: update.pts),
                    excludedConnection: connection
                ))
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

import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// Decides who hears about a new message through Telegram, and queues their references durably.
/// `MessageService` calls it after each message is stored; `TelegramRelayService` sends the queue.
public struct TelegramRelay: Sendable {
    let enabled: Bool
    let store: TelegramStore
    let registry: ConnectionRegistry
    let logger: Logger

    /// Queues a reference for every linked recipient who should hear about `message` now: `always`,
    /// or `offline` while none of their devices is connected. `members` are the chat's.
    func messageStored(_ message: Message, members: [UUID]) async {
        guard enabled else { return }
        do {
            let recipients = members.filter { $0 != message.senderID }
            var jobs: [(reference: String, messageID: UUID, recipientID: UUID, telegramChatID: Int64, messageType: String, timestamp: Timestamp)] = []
            for link in try await store.links(of: recipients) {
                switch link.mode {
                case .never: continue
                case .offline: if await registry.isOnline(link.userID) { continue }
                case .always: break
                }
                jobs.append((Self.newReference(), message.id, link.userID, link.telegramChatID, message.kind.rawValue, message.createdAt))
            }
            try await store.enqueue(jobs)
        } catch {
            logger.error("telegram relay not queued", metadata: ["message_id": "\(message.id)", "error": "\(error)"])
        }
    }

    /// The whole text of a relay notification: a type, a count and a time. Nothing else may be
    /// added: no content, sender, chat or file name ever goes to Telegram.
    static func notificationText(for jobs: [TelegramStore.Job]) -> String {
        let latest = jobs.map(\.timestamp).max() ?? .now()
        let time = latest.description.dropFirst(11).prefix(5)
        if jobs.count == 1, let job = jobs.first {
            return "New \(job.messageType) message in Courier at \(time) UTC."
        }
        return "\(jobs.count) new messages in Courier, the latest at \(time) UTC."
    }

    /// A reference: 128 random bits, URL-safe. It says nothing about the message.
    static func newReference() -> String {
        SecretToken.random(bytes: 16)
    }
}

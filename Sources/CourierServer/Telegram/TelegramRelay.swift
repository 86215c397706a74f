import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// Decides who hears about a new message through Telegram. Its notices are queued in the message's
/// own transaction (`alongsideMessage`), so a crash between the commit and the queue cannot lose
/// one; it subscribes to "update stored" only to wake `TelegramRelayService`, which sends them. The
/// sender's ack never waits for Telegram.
public struct TelegramRelay: UpdateSubscriber {
    let enabled: Bool
    let store: TelegramStore
    let presence: PresenceService
    let wakeup = Wakeup()
    let logger: Logger

    /// The work that queues a message's notices in its transaction; nil when the relay is off.
    var alongsideMessage: MessageStore.Alongside? {
        enabled ? TelegramStore.noticesAlongside(newReference: Self.newReference) : nil
    }

    public func updatesStored(_ stored: StoredUpdates) async {
        if enabled, stored.updates.chat.contains(where: { $0.kind == .newMessage }) { wakeup.signal() }
    }

    /// Whether a queued notice still goes out: always for `always`, and for `offline` while none of
    /// the recipient's devices is connected (decided when it is sent, the closest to the truth).
    func shouldSend(_ job: TelegramStore.Job) async -> Bool {
        guard job.onlyIfOffline, let recipient = job.recipientID else { return true }
        return await !presence.isOnline(recipient)
    }

    /// The whole text of a relay notification: a type, a count and a time. Nothing else may be
    /// added: no content, sender, chat or file name ever goes to Telegram.
    static func notificationText(for jobs: [TelegramStore.Job]) -> String {
        let latest = jobs.map(\.timestamp).max() ?? .now()
        let time = latest.description.dropFirst(11).prefix(5)
        if jobs.count == 1, let job = jobs.first {
            return "New \(noun(for: job.messageType)) in Courier at \(time) UTC."
        }
        return "\(jobs.count) new messages in Courier, the latest at \(time) UTC."
    }

    /// What a message of this type is called in a notice: "photo", "voice message", never more
    /// (no file name, caption or size).
    static func noun(for messageType: String) -> String {
        switch MessageKind(rawValue: messageType) {
        case .image: "photo"
        case .video: "video"
        case .audio: "voice message"
        case .file: "file"
        case .text, nil: "message"
        }
    }

    /// A reference: 128 random bits, URL-safe. It says nothing about the message.
    @Sendable static func newReference() -> String {
        SecretToken.random(bytes: 16)
    }
}

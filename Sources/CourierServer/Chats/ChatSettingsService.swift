import CourierCore
import CourierStore
import Foundation

/// A person's own arrangement of their chat list: pinned chats, muted ones (unread counts do not
/// alert, desktop notifications and the Telegram relay stay quiet), archived ones, and drafts.
public struct ChatSettingsService: Sendable {
    let settings: ChatSettingsStore
    let events: EventPublisher

    /// The longest draft kept (a message's longest text).
    public static let maxDraftCharacters = MessageLimits.maxContentCharacters

    /// Changes what is given: `pinned`, `mute` (`1h`, `8h`, `forever`, `off`), `archived`.
    public func update(
        _ chatID: UUID, for userID: UUID, pinned: Bool?, mute: String?, archived: Bool?, connection: UUID? = nil
    ) async throws -> ChatListSettings {
        let now = Timestamp.now()
        let muteEnd = try mute.map { choice throws(CourierError) in try ChatListSettings.muteEnd(choice, from: now) }
        let result = try await settings.update(chatID, for: userID, at: now) { current in
            if let pinned { current.pinnedAt = pinned ? (current.pinnedAt ?? now) : nil }
            if let muteEnd { current.mutedUntil = muteEnd }
            if let archived { current.archived = archived }
        }
        if let update = result.update { await events.stored(LoggedUpdates(account: [update]), excluding: connection) }
        return result.settings
    }

    /// Keeps a draft (empty: none) for the person's other devices.
    public func setDraft(_ text: String, in chatID: UUID, for userID: UUID, connection: UUID? = nil) async throws {
        guard text.count <= Self.maxDraftCharacters else {
            throw CourierError.invalid("text", "A draft holds at most \(Self.maxDraftCharacters) characters.")
        }
        if let update = try await settings.setDraft(text, in: chatID, for: userID, at: .now()) {
            await events.stored(LoggedUpdates(account: [update]), excluding: connection)
        }
    }
}

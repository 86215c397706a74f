import CourierCore
import Foundation
import SQLKit

/// Each person's own settings of the chats in their list (pinned, muted, archived) and their
/// drafts, each change an update of the person's own log so that their other devices follow.
public struct ChatSettingsStore: Sendable {
    let engine: any DatabaseEngine
    let keyring: Keyring

    public init(engine: any DatabaseEngine, keyring: Keyring) {
        self.engine = engine
        self.keyring = keyring
    }

    /// Applies `change` to `userID`'s settings of a chat they are in; returns the settings now and
    /// the update, nil when nothing changed.
    public func update(
        _ chatID: UUID, for userID: UUID, at time: Timestamp, _ change: @escaping @Sendable (inout ChatListSettings) throws -> Void
    ) async throws -> (settings: ChatListSettings, update: AccountUpdate?) {
        try await engine.write { sql in
            // The person's row first: two changes at once count their pinned chats one after the
            // other (SQLite's write transaction does that by itself).
            try await UpdateLog.lockPeopleFirst(on: sql) { [userID] }
            guard let row = try await sql.raw("""
                SELECT pinned_at, muted_until, archived FROM chat_members WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID)
                """).first()
            else { throw CourierError.notFound("chat") }
            let before = ChatListSettings(
                pinnedAt: try row.decode(column: "pinned_at", as: Int64?.self).map(Timestamp.init(milliseconds:)),
                mutedUntil: try row.decode(column: "muted_until", as: Int64?.self).map(Timestamp.init(milliseconds:)),
                archived: try row.decode(column: "archived", as: Int.self) == 1
            )
            var after = before
            try change(&after)
            guard after != before else { return (before, nil) }
            if before.pinnedAt == nil, after.pinnedAt != nil {
                let pinned = try await sql.raw("""
                    SELECT COUNT(*) AS n FROM chat_members WHERE user_id = \(bind: userID) AND pinned_at IS NOT NULL
                    """).first()?.decode(column: "n", as: Int.self) ?? 0
                guard pinned < ChatListSettings.maxPinned else {
                    throw CourierError(.conflict, code: "too_many_pinned_chats", message: "At most \(ChatListSettings.maxPinned) chats are pinned; unpin one first.")
                }
            }
            try await sql.raw("""
                UPDATE chat_members SET pinned_at = \(bind: after.pinnedAt?.milliseconds), muted_until = \(bind: after.mutedUntil?.milliseconds),
                    archived = \(bind: after.archived ? 1 : 0)
                WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID)
                """).run()
            let update = try await UpdateLog.record(.chatSettingsChanged, for: userID, chatID: chatID, detail: after.encoded, at: time, on: sql)
            return (after, update)
        }
    }

    /// Keeps `text` (nil or empty: none) as `userID`'s draft in a chat, sealed with the chat's key.
    /// Returns the update, nil when it did not change.
    public func setDraft(_ text: String?, in chatID: UUID, for userID: UUID, at time: Timestamp) async throws -> AccountUpdate? {
        let draft = (text?.isEmpty ?? true) ? nil : text
        // A member's chat only: sealing would otherwise make a key for a chat that does not exist.
        let isMember = try await engine.read { sql in
            try await sql.raw("SELECT 1 AS present FROM chat_members WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID)").first() != nil
        }
        guard isMember else { throw CourierError.notFound("chat") }
        let sealed = try await keyring.seal(draft, Self.draftContext(chatID, userID))
        return try await engine.write { sql in
            try await UpdateLog.lockPeopleFirst(on: sql) { [userID] }
            guard let row = try await sql.raw("""
                SELECT draft FROM chat_members WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID)
                """).first()
            else { throw CourierError.notFound("chat") }
            let current = try await keyring.open(try row.decode(column: "draft", as: String?.self), Self.draftContext(chatID, userID))
            guard current != draft else { return nil }
            try await sql.raw("""
                UPDATE chat_members SET draft = \(bind: sealed), draft_updated_at = \(bind: time.milliseconds)
                WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID)
                """).run()
            return try await UpdateLog.record(.draftChanged, for: userID, chatID: chatID, at: time, on: sql)
        }
    }

    /// Opens a draft as stored in `chat_members`.
    func openDraft(_ stored: String?, in chatID: UUID, for userID: UUID) async throws -> String? {
        try await keyring.open(stored, Self.draftContext(chatID, userID))
    }

    static func draftContext(_ chatID: UUID, _ userID: UUID) -> Keyring.FieldContext {
        Keyring.FieldContext(table: "chat_members", rowID: chatID, scope: .chat(chatID), field: "draft:\(userID.lowercasedString)")
    }
}

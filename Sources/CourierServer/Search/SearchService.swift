import CourierCore
import CourierStore
import Foundation

/// Search over the messages a person can read: every chat they are in, or one of them.
public struct SearchService: Sendable {
    let chats: ChatService
    let search: MessageSearch
    let limiter: RateLimiter

    public static let defaultLimit = 20
    public static let maxLimit = 50
    /// Chats one search looks in at most: the most recently active (one chat: any of them).
    public static let maxChats = 1000

    /// The newest messages matching `text`, older than `before` (a cursor from an earlier page).
    public func search(_ text: String, in chatID: UUID?, for userID: UUID, before: String?, limit: Int) async throws -> MessageSearch.Page {
        guard text.count <= SearchText.maxQueryCharacters else {
            throw CourierError.invalidParameter("q", "q must be at most \(SearchText.maxQueryCharacters) characters.")
        }
        guard let query = SearchText.Query(text) else { throw CourierError.invalidParameter("q", "q must contain a word (letters or digits).") }
        let cursor = try before.map { text throws(CourierError) in
            guard let cursor = MessageSearch.Cursor(text) else {
                throw CourierError.invalidParameter("before", "before must be the next_before of an earlier page.")
            }
            return cursor
        }
        try await limiter.take("search:\(userID)", limiter.settings.searchPerUser)
        let scope: [UUID]
        if let chatID {
            scope = [try await chats.memberAccess(chatID, for: userID).chat.id]
        } else {
            scope = try await chats.chatIDs(of: userID, limit: Self.maxChats)
        }
        return try await search.search(query, in: scope, for: userID, before: cursor, limit: limit)
    }
}

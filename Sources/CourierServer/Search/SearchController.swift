import CourierCore
import CourierStore
import Foundation
import Hummingbird

/// `/api/v1/search`: the person's messages by their words, across their chats or in one.
struct SearchController {
    let search: SearchService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get(use: find)
    }

    struct Hit: Encodable {
        let message: MessageResponse
        /// The text around the first matching word ("…" where it was cut).
        let snippet: String
    }

    struct SearchResponse: ResponseEncodable {
        let results: [Hit]
        /// Pass as `before` for the next page; null when there are no more.
        let nextBefore: String?

        enum CodingKeys: String, CodingKey {
            case results
            case nextBefore = "next_before"
        }

        /// `next_before` is always there, null on the last page (the OpenAPI document requires it).
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(results, forKey: .results)
            try container.encode(nextBefore, forKey: .nextBefore)
        }
    }

    @Sendable func find(request: Request, context: AuthenticatedContext) async throws -> SearchResponse {
        let query = request.uri.queryParameters
        guard let text = query.get("q") else { throw CourierError.invalidParameter("q", "q (the words to look for) is required.") }
        var chatID: UUID?
        if let text = query.get("chat_id") {
            // A query parameter, so a malformed one is a 400 like `limit` and `before`.
            guard let id = UUID(clientText: text) else { throw CourierError.invalidParameter("chat_id", "chat_id must be an id.") }
            chatID = id
        }
        var limit = SearchService.defaultLimit
        if let raw = query.get("limit") {
            guard let value = Int(raw), (1...SearchService.maxLimit).contains(value) else {
                throw CourierError.invalidParameter("limit", "limit must be a whole number from 1 to \(SearchService.maxLimit).")
            }
            limit = value
        }
        let page = try await search.search(text, in: chatID, for: context.user.userID, before: query.get("before"), limit: limit)
        return SearchResponse(
            results: page.hits.map { Hit(message: MessageResponse($0.message), snippet: $0.snippet) }, nextBefore: page.next?.description
        )
    }
}

import CourierCore
import Foundation
import Hummingbird

/// `/api/v1/messages/:id/reaction` (set with PUT `{emoji}`, take back with DELETE) and
/// `/api/v1/messages/:id/pin` (PUT pins, DELETE unpins), with `GET /api/v1/chats/:id/pins`.
struct ReactionController {
    let reactions: ReactionService
    let pins: PinService

    func addRoutes(messages: RouterGroup<AuthenticatedContext>, chats: RouterGroup<AuthenticatedContext>) {
        messages.put(":id/reaction", use: react)
        messages.delete(":id/reaction", use: takeBack)
        messages.put(":id/pin", use: pin)
        messages.delete(":id/pin", use: unpin)
        chats.get(":id/pins", use: pinned)
    }

    struct ReactRequest: Decodable {
        let emoji: String
    }

    @Sendable func react(request: Request, context: AuthenticatedContext) async throws -> MessageResponse {
        let body = try await request.decodeJSON(as: ReactRequest.self, context: context)
        return MessageResponse(try await reactions.react(body.emoji, to: try messageID(context), by: context.user.userID))
    }

    @Sendable func takeBack(request: Request, context: AuthenticatedContext) async throws -> MessageResponse {
        MessageResponse(try await reactions.react(nil, to: try messageID(context), by: context.user.userID))
    }

    @Sendable func pin(request: Request, context: AuthenticatedContext) async throws -> MessageResponse {
        MessageResponse(try await pins.pin(try messageID(context), by: context.user.userID).withoutReactors())
    }

    @Sendable func unpin(request: Request, context: AuthenticatedContext) async throws -> Response {
        try await pins.unpin(try messageID(context), by: context.user.userID)
        return noContent
    }

    struct PinResponse: Encodable {
        let message: MessageResponse
        let pinnedAt: Timestamp
        let pinnedBy: String?

        enum CodingKeys: String, CodingKey {
            case message
            case pinnedAt = "pinned_at"
            case pinnedBy = "pinned_by"
        }
    }

    struct PinsResponse: ResponseEncodable {
        /// Newest pin first.
        let pins: [PinResponse]
    }

    @Sendable func pinned(request: Request, context: AuthenticatedContext) async throws -> PinsResponse {
        let chatID = try context.parameters.uuid("id", resource: "chat")
        let pinned = try await pins.pinned(in: chatID, for: context.user.userID)
        return PinsResponse(pins: pinned.map {
            PinResponse(message: MessageResponse($0.message.withoutReactors()), pinnedAt: $0.pinnedAt, pinnedBy: $0.pinnedBy?.lowercasedString)
        })
    }

    private func messageID(_ context: AuthenticatedContext) throws(CourierError) -> UUID {
        try context.parameters.uuid("id", resource: "message")
    }
}

import CourierCore
import Foundation
import Hummingbird

/// `/api/v1/messages`: send, read one, edit, delete, forward.
struct MessageController {
    let messages: MessageService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post(use: send)
        group.get(":id", use: show)
        group.patch(":id", use: edit)
        group.delete(":id", use: delete)
        group.post(":id/forward", use: forward)
    }

    /// 201 with the new message; 200 with the original when `client_msg_id` was used before.
    @Sendable func send(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<MessageResponse> {
        let body = try await request.decodeJSON(as: SendMessageRequest.self, context: context)
        let sent = try await messages.send(try body.draft(), from: context.user.userID)
        return MessageResponse(sent.message).response(status: sent.created ? .created : .ok)
    }

    @Sendable func show(request: Request, context: AuthenticatedContext) async throws -> MessageResponse {
        MessageResponse(try await messages.message(try messageID(context), for: context.user.userID).message)
    }

    @Sendable func edit(request: Request, context: AuthenticatedContext) async throws -> MessageResponse {
        let body = try await request.decodeJSON(as: EditMessageRequest.self, context: context)
        return MessageResponse(try await messages.edit(try messageID(context), content: body.content, by: context.user.userID).message)
    }

    /// `?for=everyone` (default) or `?for=me`.
    @Sendable func delete(request: Request, context: AuthenticatedContext) async throws -> Response {
        let scope = try MessageService.DeleteScope.parse(request.uri.queryParameters.get("for"))
        try await messages.delete(try messageID(context), for: scope, by: context.user.userID)
        return noContent
    }

    @Sendable func forward(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<MessageResponse> {
        let body = try await request.decodeJSON(as: ForwardRequest.self, context: context)
        let message = try await messages.forward(try messageID(context), to: body.chatID, by: context.user.userID)
        return MessageResponse(message).response(status: .created)
    }

    private func messageID(_ context: AuthenticatedContext) throws(CourierError) -> UUID {
        try context.parameters.uuid("id", resource: "message")
    }
}

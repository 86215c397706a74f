import CourierCore
import Foundation
import Hummingbird

/// `PATCH /api/v1/chats/:id/settings` (pinned, mute, archived) and `PUT /api/v1/chats/:id/draft`:
/// the reader's own arrangement of a chat, synced to their other devices.
struct ChatSettingsController {
    let settings: ChatSettingsService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.patch(":id/settings", use: update)
        group.put(":id/draft", use: draft)
    }

    struct SettingsRequest: Decodable {
        let pinned: Bool?
        let mute: String?
        let archived: Bool?
    }

    struct SettingsResponse: ResponseEncodable {
        let pinnedAt: Timestamp?
        let mutedUntil: Timestamp?
        let archived: Bool

        enum CodingKeys: String, CodingKey {
            case archived
            case pinnedAt = "pinned_at"
            case mutedUntil = "muted_until"
        }
    }

    @Sendable func update(request: Request, context: AuthenticatedContext) async throws -> SettingsResponse {
        let body = try await request.decodeJSON(as: SettingsRequest.self, context: context)
        let chatID = try context.parameters.uuid("id", resource: "chat")
        let now = try await settings.update(chatID, for: context.user.userID, pinned: body.pinned, mute: body.mute, archived: body.archived)
        return SettingsResponse(pinnedAt: now.pinnedAt, mutedUntil: now.isMuted() ? now.mutedUntil : nil, archived: now.archived)
    }

    struct DraftRequest: Decodable {
        let text: String
    }

    @Sendable func draft(request: Request, context: AuthenticatedContext) async throws -> Response {
        let body = try await request.decodeJSON(as: DraftRequest.self, context: context)
        try await settings.setDraft(body.text, in: try context.parameters.uuid("id", resource: "chat"), for: context.user.userID)
        return noContent
    }
}

import CourierCore
import Foundation
import Hummingbird

/// `/api/v1/chats`: DMs and groups, their members, history and read state.
struct ChatController {
    let chats: ChatService
    let messages: MessageService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: show)
        group.patch(":id", use: rename)
        group.get(":id/members", use: members)
        group.post(":id/members", use: addMembers)
        group.delete(":id/members/:userId", use: removeMember)
        group.patch(":id/members/:userId", use: setRole)
        group.post(":id/leave", use: leave)
        group.get(":id/messages", use: history)
        group.post(":id/read", use: read)
    }

    /// `type:"group"` creates a group (201); `type:"dm"` finds or creates the DM with `user_id` (201 new, 200 existing).
    @Sendable func create(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<ChatResponse> {
        let body = try await request.decodeJSON(as: CreateChatRequest.self, context: context)
        let me = context.user.userID
        switch body.type {
        case ChatKind.group.rawValue:
            let chat = try await chats.createGroup(named: body.name, memberIDs: body.memberIDs ?? [], by: me)
            return ChatResponse(chat, role: .owner).response(status: .created)
        case ChatKind.dm.rawValue:
            let result = try await chats.directChat(with: body.userID, for: me)
            let summary = try await chats.summary(of: result.chat.id, for: me)
            return ChatResponse(summary).response(status: result.created ? .created : .ok)
        default:
            throw CourierError.invalid("type", "type must be group or dm (channels are created at /channels).")
        }
    }

    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> ChatListResponse {
        let page = try request.offsetPage()
        let result = try await chats.summaries(for: context.user.userID, limit: page.limit, offset: page.offset)
        return ChatListResponse(
            chats: result.summaries.map(ChatResponse.init), total: result.total, hasMore: page.offset + result.summaries.count < result.total,
            accountPTS: result.accountPTS
        )
    }

    @Sendable func show(request: Request, context: AuthenticatedContext) async throws -> ChatResponse {
        ChatResponse(try await chats.summary(of: try chatID(context), for: context.user.userID))
    }

    @Sendable func rename(request: Request, context: AuthenticatedContext) async throws -> ChatResponse {
        let body = try await request.decodeJSON(as: RenameChatRequest.self, context: context)
        let id = try chatID(context)
        _ = try await chats.rename(id, to: body.name, by: context.user.userID)
        return ChatResponse(try await chats.summary(of: id, for: context.user.userID))
    }

    @Sendable func members(request: Request, context: AuthenticatedContext) async throws -> MemberListResponse {
        let page = try request.offsetPage()
        let result = try await chats.members(of: try chatID(context), for: context.user.userID, limit: page.limit, offset: page.offset)
        return MemberListResponse(
            members: result.members.map { MemberResponse(user: PublicUserResponse($0.user), role: $0.membership.role, joinedAt: $0.membership.joinedAt) },
            total: result.total
        )
    }

    @Sendable func addMembers(request: Request, context: AuthenticatedContext) async throws -> MembersAddedResponse {
        let body = try await request.decodeJSON(as: AddMembersRequest.self, context: context)
        let result = try await chats.addMembers(body.ids, to: try chatID(context), by: context.user.userID)
        return MembersAddedResponse(added: result.added.map(\.lowercasedString), memberCount: result.memberCount)
    }

    /// Removes a member; with one's own id, leaves.
    @Sendable func removeMember(request: Request, context: AuthenticatedContext) async throws -> Response {
        let target = try context.parameters.uuid("userId", resource: "member")
        try await chats.removeMember(target, from: try chatID(context), by: context.user.userID)
        return noContent
    }

    @Sendable func setRole(request: Request, context: AuthenticatedContext) async throws -> MembershipResponse {
        let body = try await request.decodeJSON(as: SetRoleRequest.self, context: context)
        let target = try context.parameters.uuid("userId", resource: "member")
        let membership = try await chats.setRole(body.role, of: target, in: try chatID(context), by: context.user.userID)
        return MembershipResponse(chatID: membership.chatID.lowercasedString, userID: membership.userID.lowercasedString, role: membership.role)
    }

    @Sendable func leave(request: Request, context: AuthenticatedContext) async throws -> Response {
        try await chats.removeMember(context.user.userID, from: try chatID(context), by: context.user.userID)
        return noContent
    }

    @Sendable func history(request: Request, context: AuthenticatedContext) async throws -> MessagePageResponse {
        MessagePageResponse(try await messages.history(of: try chatID(context), for: context.user.userID, try request.pageRequest()))
    }

    @Sendable func read(request: Request, context: AuthenticatedContext) async throws -> ReadStateResponse {
        let body = try await request.decodeJSON(as: ReadRequest.self, context: context)
        let id = try chatID(context)
        let state = try await chats.markRead(id, upTo: body.seq, by: context.user.userID)
        return ReadStateResponse(chatID: id.lowercasedString, lastReadSeq: state.lastReadSeq, unreadCount: state.unreadCount)
    }

    private func chatID(_ context: AuthenticatedContext) throws(CourierError) -> UUID {
        try context.parameters.uuid("id", resource: "chat")
    }
}

import CourierCore
import Foundation
import Hummingbird

/// `/api/v1/channels`: create, find, subscribe, post and read posts.
struct ChannelController {
    let channels: ChannelService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post(use: create)
        group.get(use: find)
        group.get(":id", use: show)
        group.patch(":id", use: update)
        group.post(":id/subscribe", use: subscribe)
        group.delete(":id/subscribe", use: unsubscribe)
        group.get(":id/posts", use: posts)
        group.post(":id/posts", use: post)
    }

    @Sendable func create(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<ChannelResponse> {
        let body = try await request.decodeJSON(as: CreateChannelRequest.self, context: context)
        let view = try await channels.create(named: body.name, description: body.description, username: body.username, by: context.user.userID)
        return ChannelResponse(view).response(status: .created)
    }

    /// `GET /channels?username=…`: the public channel with that username.
    @Sendable func find(request: Request, context: AuthenticatedContext) async throws -> ChannelResponse {
        guard let username = request.uri.queryParameters.get("username") else {
            throw CourierError(.badRequest, code: "invalid_request", message: "Give ?username= to find a public channel.")
        }
        return ChannelResponse(try await channels.channel(username: username, for: context.user.userID))
    }

    @Sendable func show(request: Request, context: AuthenticatedContext) async throws -> ChannelResponse {
        ChannelResponse(try await channels.channel(try channelID(context), for: context.user.userID))
    }

    @Sendable func update(request: Request, context: AuthenticatedContext) async throws -> ChannelResponse {
        let body = try await request.decodeJSON(as: UpdateChannelRequest.self, context: context)
        return ChannelResponse(try await channels.update(
            try channelID(context), name: body.name, description: body.description, username: body.username, by: context.user.userID
        ))
    }

    @Sendable func subscribe(request: Request, context: AuthenticatedContext) async throws -> ChannelResponse {
        ChannelResponse(try await channels.subscribe(try channelID(context), by: context.user.userID))
    }

    @Sendable func unsubscribe(request: Request, context: AuthenticatedContext) async throws -> ChannelResponse {
        ChannelResponse(try await channels.unsubscribe(try channelID(context), by: context.user.userID))
    }

    @Sendable func posts(request: Request, context: AuthenticatedContext) async throws -> MessagePageResponse {
        MessagePageResponse(try await channels.posts(of: try channelID(context), for: context.user.userID, try request.pageRequest()))
    }

    @Sendable func post(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<MessageResponse> {
        let body = try await request.decodeJSON(as: PostRequest.self, context: context)
        let sent = try await channels.publish(try body.draft(chatID: try channelID(context)), by: context.user.userID)
        return MessageResponse(sent.message).response(status: sent.created ? .created : .ok)
    }

    private func channelID(_ context: AuthenticatedContext) throws(CourierError) -> UUID {
        try context.parameters.uuid("id", resource: "channel")
    }
}

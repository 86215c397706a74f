import CourierCore
import CourierStore
import Foundation
import Hummingbird

/// `/api/v1/bots`: a person's own bots (make one, list them, a new token, delete one), and
/// the chat side of bots for people: a chat's bot commands and pressing a button.
struct BotController {
    let bots: BotService

    func addRoutes(bots group: RouterGroup<AuthenticatedContext>, chats: RouterGroup<AuthenticatedContext>, messages: RouterGroup<AuthenticatedContext>) {
        group.post(use: create)
        group.get(use: list)
        group.post(":id/token", use: replaceToken)
        group.delete(":id", use: delete)
        chats.get(":id/bot-commands", use: commands)
        messages.post(":id/callback", use: press)
    }

    struct CreateRequest: Decodable { let username: String? }

    @Sendable func create(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<CreatedBotResponse> {
        let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
        let (bot, token) = try await bots.create(username: body.username, by: context.user.userID)
        return EditedResponse(status: .created, response: CreatedBotResponse(bot: BotResponse(bot, number: token.botNumber), token: token.text))
    }

    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> BotListResponse {
        BotListResponse(bots: try await bots.bots(of: context.user.userID).map { BotResponse($0.bot, number: $0.number) })
    }

    @Sendable func replaceToken(request: Request, context: AuthenticatedContext) async throws -> BotTokenResponse {
        BotTokenResponse(token: try await bots.replaceToken(of: try context.parameters.uuid("id", resource: "bot"), by: context.user.userID).text)
    }

    @Sendable func delete(request: Request, context: AuthenticatedContext) async throws -> Response {
        try await bots.delete(try context.parameters.uuid("id", resource: "bot"), by: context.user.userID)
        return Response(status: .noContent)
    }

    @Sendable func commands(request: Request, context: AuthenticatedContext) async throws -> BotCommandListResponse {
        let commands = try await bots.commands(inChat: try context.parameters.uuid("id", resource: "chat"), for: context.user.userID)
        return BotCommandListResponse(commands: commands.map {
            .init(botID: $0.botID.lowercasedString, username: $0.username.value, command: $0.command.command, description: $0.command.description)
        })
    }

    struct PressRequest: Decodable { let data: String }

    @Sendable func press(request: Request, context: AuthenticatedContext) async throws -> CallbackAnswerResponse {
        let body = try await request.decodeJSON(as: PressRequest.self, context: context)
        let answer = try await bots.press(try context.parameters.uuid("id", resource: "message"), data: body.data, by: context.user.userID)
        return CallbackAnswerResponse(answer: answer)
    }
}

struct BotResponse: ResponseEncodable {
    let id: String
    let username: String
    let telegramID: Int64
    let createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case id, username
        case telegramID = "telegram_id"
        case createdAt = "created_at"
    }

    init(_ bot: BotStore.Bot, number: Int64) {
        id = bot.userID.lowercasedString
        username = bot.username.value
        telegramID = number
        createdAt = bot.createdAt
    }
}

struct CreatedBotResponse: ResponseEncodable {
    let bot: BotResponse
    let token: String
}

struct BotListResponse: ResponseEncodable {
    let bots: [BotResponse]
}

struct BotTokenResponse: ResponseEncodable {
    let token: String
}

struct BotCommandListResponse: ResponseEncodable {
    struct Entry: Encodable {
        let botID: String
        let username: String
        let command: String
        let description: String

        enum CodingKeys: String, CodingKey {
            case botID = "bot_id"
            case username, command, description
        }
    }

    let commands: [Entry]
}

struct CallbackAnswerResponse: ResponseEncodable {
    let answer: BotService.CallbackAnswer

    func encode(to encoder: any Encoder) throws { try answer.encode(to: encoder) }
}

import CourierCore
import CourierStore
import CourierTelegram
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/api/v1/telegram/…` (linking, settings, admin status), `/api/v1/references/…` (resolution and
/// registration), `POST /telegram/webhook` and the page `/r/:ref`.
struct TelegramController {
    let telegram: TelegramService

    func addRoutes(api: RouterGroup<AuthenticatedContext>, references: RouterGroup<AuthenticatedContext>, router: Router<AppRequestContext>) {
        api.post("link", use: createLink)
        api.get("link", use: showLink)
        api.patch("link", use: updateLink)
        api.delete("link", use: deleteLink)
        api.get("status", use: status)
        references.get(":ref", use: resolve)
        references.post(use: register)
        router.post("telegram/webhook", use: webhook)
    }

    struct DeepLinkResponse: ResponseEncodable {
        let url: String
        let expiresAt: Timestamp
        enum CodingKeys: String, CodingKey { case url; case expiresAt = "expires_at" }
    }

    struct LinkResponse: ResponseEncodable {
        /// Whether this server has a Telegram bot at all, so a client knows whether to offer linking.
        let enabled: Bool
        let linked: Bool
        let relayMode: TelegramStore.RelayMode?
        let linkedAt: Timestamp?
        enum CodingKeys: String, CodingKey { case enabled, linked; case relayMode = "relay_mode"; case linkedAt = "linked_at" }

        init(_ link: TelegramStore.Link?, enabled: Bool) {
            self.enabled = enabled
            linked = link != nil
            relayMode = link?.mode
            linkedAt = link?.linkedAt
        }
    }

    struct ModeRequest: Decodable {
        let relayMode: String
        enum CodingKeys: String, CodingKey { case relayMode = "relay_mode" }
    }

    struct StatusResponse: ResponseEncodable {
        let enabled: Bool
        let queueLength: Int
        let sending: Int
        let sent: Int
        let failed: Int
        let lastError: String?
        enum CodingKeys: String, CodingKey {
            case enabled, sending, sent, failed
            case queueLength = "queue_length"
            case lastError = "last_error"
        }
    }

    struct RegisterRequest: Decodable {
        let telegramID: String
        let localMessageID: String
        let type: String
        enum CodingKeys: String, CodingKey { case type; case telegramID = "telegram_id"; case localMessageID = "local_message_id" }
    }

    struct ReferenceResponse: ResponseEncodable {
        let reference: String
        let url: String
    }

    @Sendable func createLink(request: Request, context: AuthenticatedContext) async throws -> DeepLinkResponse {
        let link = try await telegram.createLink(for: context.user.userID)
        return DeepLinkResponse(url: link.url, expiresAt: link.expiresAt)
    }

    @Sendable func showLink(request: Request, context: AuthenticatedContext) async throws -> LinkResponse {
        LinkResponse(try await telegram.link(of: context.user.userID), enabled: telegram.isEnabled)
    }

    @Sendable func updateLink(request: Request, context: AuthenticatedContext) async throws -> LinkResponse {
        let body = try await request.decodeJSON(as: ModeRequest.self, context: context)
        return LinkResponse(try await telegram.setMode(body.relayMode, for: context.user.userID), enabled: telegram.isEnabled)
    }

    @Sendable func deleteLink(request: Request, context: AuthenticatedContext) async throws -> Response {
        try await telegram.unlink(context.user.userID)
        return noContent
    }

    @Sendable func status(request: Request, context: AuthenticatedContext) async throws -> StatusResponse {
        let statistics = try await telegram.status(for: context.user)
        return StatusResponse(
            enabled: telegram.isEnabled, queueLength: statistics.byStatus["pending"] ?? 0, sending: statistics.byStatus["sending"] ?? 0,
            sent: statistics.byStatus["sent"] ?? 0, failed: statistics.byStatus["failed"] ?? 0, lastError: statistics.lastError
        )
    }

    @Sendable func resolve(request: Request, context: AuthenticatedContext) async throws -> MessageResponse {
        let reference = context.parameters.get("ref") ?? ""
        return MessageResponse(try await telegram.resolve(reference, for: context.user, ipAddress: context.clientAddress))
    }

    @Sendable func register(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<ReferenceResponse> {
        let body = try await request.decodeJSON(as: RegisterRequest.self, context: context)
        let reference = try await telegram.register(telegramID: body.telegramID, messageID: body.localMessageID, type: body.type, by: context.user)
        return ReferenceResponse(reference: reference, url: telegram.referenceURL(reference)).response(status: .created)
    }

    /// Telegram's webhook: only requests carrying the configured secret are believed.
    @Sendable func webhook(request: Request, context: AppRequestContext) async throws -> Response {
        guard let secret = telegram.settings?.webhookSecret, telegram.isEnabled else { throw CourierError.notFound("webhook") }
        guard request.headers[.telegramSecretToken] == secret else {
            throw CourierError.unauthorized("The webhook secret is not correct.", code: "invalid_webhook_secret")
        }
        let update = try await request.decodeJSON(as: BotUpdate.self, context: context)
        await telegram.handle(update)
        return Response(status: .ok)
    }
}

extension HTTPField.Name {
    static let telegramSecretToken = HTTPField.Name("X-Telegram-Bot-Api-Secret-Token")!
}

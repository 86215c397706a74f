import CourierCore
import CourierRealtime
import CourierStore
import CourierTelegram
import Crypto
import Foundation
import Logging

/// Hybrid delivery through Telegram: links accounts to Telegram chats with the bot, queues a
/// reference for each new message a linked recipient should hear about, and resolves references
/// back to messages after an access check.
///
/// What goes to Telegram is a random reference, the message type and the time. Never content, a
/// sender, a chat name or a file name: the one place that writes bot texts is `notificationText`.
public struct TelegramService: Sendable {
    let bot: (any BotAPI)?
    let settings: TelegramSettings?
    let store: TelegramStore
    let messages: MessageService
    let audit: AuditService
    let publicURL: String
    let botUsername: BotUsername
    let logger: Logger

    static let linkLifetime: Int64 = 10 * 60

    /// The bot's username, learnt from `getMe` when first needed.
    actor BotUsername {
        private var value: String?
        func get(from bot: any BotAPI) async throws -> String {
            if let value { return value }
            let me = try await bot.getMe()
            guard let username = me.username else { throw CourierError(.unavailable, code: "telegram_unavailable", message: "The bot has no username.") }
            value = username
            return username
        }
    }

    var isEnabled: Bool { bot != nil }

    private func requireBot() throws(CourierError) -> any BotAPI {
        guard let bot else {
            throw CourierError(.notFound, code: "telegram_disabled", message: "This server does not relay through Telegram.")
        }
        return bot
    }

    // MARK: Linking

    /// A one-time deep link (`https://t.me/<bot>?start=<token>`), valid for ten minutes.
    public func createLink(for userID: UUID) async throws -> (url: String, expiresAt: Timestamp) {
        let bot = try requireBot()
        let username: String
        do {
            username = try await botUsername.get(from: bot)
        } catch {
            throw CourierError(.unavailable, code: "telegram_unavailable", message: "Telegram cannot be reached right now; try again soon.")
        }
        let token = SecretToken.random()
        let expiresAt = Timestamp.now().adding(seconds: Self.linkLifetime)
        try await store.createLinkToken(hash: SecretToken.hash(token), for: userID, expiresAt: expiresAt)
        return ("https://t.me/\(username)?start=\(token)", expiresAt)
    }

    public func link(of userID: UUID) async throws -> TelegramStore.Link? {
        try await store.links(of: [userID]).first
    }

    public func unlink(_ userID: UUID) async throws {
        guard try await store.unlink(userID: userID) else { throw CourierError.notFound("telegram_link") }
        await audit.record(.init(action: "telegram_unlinked", actorID: userID))
    }

    public func setMode(_ raw: String, for userID: UUID) async throws -> TelegramStore.Link {
        guard let mode = TelegramStore.RelayMode(rawValue: raw) else {
            throw CourierError.invalid("relay_mode", "relay_mode must be offline, always or never.")
        }
        guard try await store.setMode(mode, for: userID), let link = try await link(of: userID) else {
            throw CourierError.notFound("telegram_link")
        }
        return link
    }

    /// Handles what a Telegram user sent the bot: `/start <token>` links, `/stop` unlinks.
    public func handle(_ update: BotUpdate) async {
        guard let bot, let message = update.message, let text = message.text?.trimmingCharacters(in: .whitespaces) else { return }
        let chatID = message.chat.id
        do {
            if text.hasPrefix("/start") {
                let token = text.dropFirst("/start".count).trimmingCharacters(in: .whitespaces)
                guard !token.isEmpty, let userID = try await store.link(tokenHash: SecretToken.hash(token), to: chatID, at: .now()) else {
                    _ = try await bot.sendMessage(chatID: chatID, text: "This link has expired or was used. Create a new one in Courier's settings.", buttonText: "Open Courier", buttonURL: publicURL)
                    return
                }
                await audit.record(.init(action: "telegram_linked", actorID: userID))
                _ = try await bot.sendMessage(chatID: chatID, text: "Linked. You will get a notice here when a message waits for you in Courier. Send /stop to unlink.", buttonText: "Open Courier", buttonURL: publicURL)
            } else if text.hasPrefix("/stop") {
                if let userID = try await store.unlink(telegramChatID: chatID) {
                    await audit.record(.init(action: "telegram_unlinked", actorID: userID, details: ["via": "telegram"]))
                }
                _ = try await bot.sendMessage(chatID: chatID, text: "Unlinked. You will get no more notices here.", buttonText: "Open Courier", buttonURL: publicURL)
            }
        } catch {
            logger.warning("telegram update not handled", metadata: ["error": "\(error)"])
        }
    }

    func referenceURL(_ reference: String) -> String {
        "\(publicURL)/r/\(reference)"
    }

    // MARK: Resolution

    /// The message behind a reference, for someone who may read its chat now; otherwise 404, so a
    /// reference never reveals that a message exists. Both outcomes are audited.
    public func resolve(_ reference: String, for user: AuthenticatedUser, ipAddress: String?) async throws -> Message {
        let notFound = CourierError.notFound("reference")
        guard reference.count <= 64, let messageID = try await store.message(of: reference) else {
            await audit.record(.init(action: "reference_denied", outcome: .denied, actorID: user.userID, ipAddress: ipAddress, details: ["reason": "unknown"]))
            throw notFound
        }
        do {
            let message = try await messages.message(messageID, for: user.userID).message
            await audit.record(.init(action: "reference_resolved", actorID: user.userID, ipAddress: ipAddress, details: ["message_id": messageID.lowercasedString]))
            return message
        } catch let error as CourierError where error.kind == .notFound {
            await audit.record(.init(action: "reference_denied", outcome: .denied, actorID: user.userID, ipAddress: ipAddress, details: ["reason": "no_access"]))
            throw notFound
        }
    }

    /// Registers a reference an external relay made (server administrators only).
    public func register(telegramID: String, messageID rawMessageID: String, type: String, by user: AuthenticatedUser) async throws -> String {
        guard try await audit.users.isServerAdmin(user.userID) else {
            throw CourierError(.forbidden, code: "not_server_admin", message: "Only server administrators register references.")
        }
        guard let messageID = UUID(uuidString: rawMessageID), try await messages.messages.find(id: messageID) != nil else {
            throw CourierError.invalid("local_message_id", "local_message_id must be the id of a stored message.")
        }
        guard MessageKind(rawValue: type) != nil else { throw CourierError.invalid("type", "type must be text, image, video, audio or file.") }
        guard !telegramID.isEmpty, telegramID.count <= 64 else { throw CourierError.invalid("telegram_id", "telegram_id must be 1 to 64 characters.") }
        let reference = TelegramRelay.newReference()
        try await store.register(reference: reference, telegramID: telegramID, messageID: messageID, messageType: type, at: .now())
        await audit.record(.init(action: "reference_registered", actorID: user.userID, details: ["message_id": messageID.lowercasedString]))
        return reference
    }

    /// Queue figures, for server administrators.
    public func status(for user: AuthenticatedUser) async throws -> TelegramStore.Statistics {
        guard try await audit.users.isServerAdmin(user.userID) else {
            throw CourierError(.forbidden, code: "not_server_admin", message: "Only server administrators see the relay status.")
        }
        return try await store.statistics()
    }
}

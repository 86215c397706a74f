import CourierCore
import CourierStore
import Foundation

/// The Bot API's methods, over the same services people's requests use: a bot sends through
/// `MessageService.send` like anyone, so membership, posting rights, limits and the Telegram relay's
/// rules hold for it unchanged. Each method takes the bot found by its token (`BotService.Identity`)
/// and its arguments, and returns the `result` of Telegram's envelope.
struct BotAPIMethods: Sendable {
    let bots: BotService
    let store: Store
    let messages: MessageService
    let chats: ChatService
    let polling: BotPolling
    let media: MediaService

    typealias Method = @Sendable (BotAPIMethods, BotService.Identity, BotAPIArguments) async throws -> any Encodable & Sendable

    /// The methods by lower-cased name (Telegram's names are case-insensitive).
    static let table: [String: Method] = [
        "getme": { try await $0.getMe($1, $2) },
        "getupdates": { try await $0.getUpdates($1, $2) },
        "setwebhook": { try await $0.setWebhook($1, $2) },
        "deletewebhook": { try await $0.deleteWebhook($1, $2) },
        "getwebhookinfo": { try await $0.getWebhookInfo($1, $2) },
        "sendmessage": { try await $0.sendMessage($1, $2) },
        "editmessagetext": { try await $0.editMessageText($1, $2) },
        "editmessagecaption": { try await $0.editMessageCaption($1, $2) },
        "editmessagereplymarkup": { try await $0.editMessageReplyMarkup($1, $2) },
        "deletemessage": { try await $0.deleteMessage($1, $2) },
        "forwardmessage": { try await $0.forwardMessage($1, $2) },
        "sendchataction": { try await $0.sendChatAction($1, $2) },
        "sendphoto": { try await $0.sendPhoto($1, $2) },
        "senddocument": { try await $0.sendDocument($1, $2) },
        "sendvoice": { try await $0.sendVoice($1, $2) },
        "sendvideo": { try await $0.sendVideo($1, $2) },
        "getfile": { try await $0.getFile($1, $2) },
        "answercallbackquery": { try await $0.answerCallbackQuery($1, $2) },
        "getchat": { try await $0.getChat($1, $2) },
        "getchatmember": { try await $0.getChatMember($1, $2) },
        "setmycommands": { try await $0.setMyCommands($1, $2) },
        "getmycommands": { try await $0.getMyCommands($1, $2) },
        "deletemycommands": { try await $0.deleteMyCommands($1, $2) },
        "logout": { _, _, _ in true },
        "close": { _, _, _ in true },
    ]

    func renderer(for bot: BotService.Identity) -> TelegramRenderer {
        TelegramRenderer(bot: bot, bots: store.bots, users: store.users, chats: store.chats, messages: store.messages)
    }

    // MARK: The bot

    func getMe(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.User {
        TelegramObjects.User(
            id: bot.number, is_bot: true, first_name: bot.username.value, username: bot.username.value,
            can_join_groups: true, can_read_all_group_messages: true, supports_inline_queries: false
        )
    }

    func setMyCommands(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> Bool {
        struct Given: Decodable { let command: String; let description: String }
        let given = try arguments.object("commands", as: [Given].self) ?? []
        guard given.count <= BotCommand.maxCount else { throw BotCallError.badRequest("too many commands") }
        let commands = try given.map { try BotCommand(command: $0.command, description: $0.description) }
        try await store.bots.setCommands(commands, of: bot.userID)
        return true
    }

    func getMyCommands(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> [TelegramObjects.BotCommand] {
        try await store.bots.commands(of: bot.userID).map { TelegramObjects.BotCommand(command: $0.command, description: $0.description) }
    }

    func deleteMyCommands(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> Bool {
        try await store.bots.setCommands([], of: bot.userID)
        return true
    }

    // MARK: Updates

    /// Long polling: the updates from `offset` on, waiting up to `timeout` seconds for the first
    /// one. Passing `offset` confirms every update before it, which is then forgotten.
    func getUpdates(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> [TelegramObjects.Update] {
        if try await store.bots.webhook(of: bot.userID) != nil {
            throw BotCallError.conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        }
        let limit = Int(min(100, max(1, try arguments.int("limit") ?? 100)))
        let timeout = min(50, max(0, try arguments.int("timeout") ?? 0))
        if let kinds = try arguments.object("allowed_updates", as: [String].self) {
            try await store.bots.setAllowedUpdates(kinds.isEmpty ? nil : kinds, of: bot.userID)
        }
        let kinds = Self.kinds(try await store.bots.allowedUpdates(of: bot.userID))
        var offset = try arguments.int("offset")
        if let given = offset, given < 0 {
            offset = max(0, try await store.bots.lastUpdateID(of: bot.userID) + given + 1)
        }
        if let offset { try await store.bots.confirm(below: offset, of: bot.userID) }
        let ticket = await polling.begin(bot.userID)
        defer { Task { await polling.end(bot.userID, ticket: ticket) } }
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let generation = polling.generation()
            try await store.bots.collect(for: bot.userID)
            let stored = try await store.bots.updates(of: bot.userID, from: offset, limit: limit, kinds: kinds)
            let rendered = try await render(stored, for: bot)
            if !rendered.isEmpty || ContinuousClock.now >= deadline { return rendered }
            switch await polling.wait(bot.userID, ticket: ticket, upTo: deadline - ContinuousClock.now, lookedAt: generation) {
            case .woken: break
            case .closing: return rendered
            case .terminated:
                throw BotCallError.conflict("terminated by other getUpdates request; make sure that only one bot instance is running")
            }
            try Task.checkCancellation()
        }
    }

    /// The update kinds a bot asked for; all of them when it named none.
    static func kinds(_ names: [String]?) -> Set<BotStore.Update.Kind> {
        let all: Set<BotStore.Update.Kind> = [.message, .editedMessage, .callbackQuery, .myChatMember]
        guard let names else { return all }
        return Set(names.compactMap(BotStore.Update.Kind.init(rawValue:)))
    }

    /// Updates as the bot sees them now: a message deleted since, or in a chat it has left, is
    /// skipped (it stays stored until the bot confirms past it).
    func render(_ updates: [BotStore.Update], for bot: BotService.Identity) async throws -> [TelegramObjects.Update] {
        let renderer = renderer(for: bot)
        var rendered: [TelegramObjects.Update] = []
        for update in updates {
            var object = TelegramObjects.Update(update_id: update.updateID)
            switch update.kind {
            case .message, .editedMessage:
                guard let messageID = update.messageID, let message = try await visibleMessage(messageID, to: bot),
                      message.senderID != bot.userID,
                      let chat = try await renderer.chat(id: message.chatID)
                else { continue }
                let rendered = try await renderer.message(message, in: chat)
                if update.kind == .message { object.message = rendered } else { object.edited_message = rendered }
            case .callbackQuery:
                guard let queryID = update.detail, let query = try await store.bots.callback(queryID),
                      let from = try await renderer.user(query.userID)
                else { continue }
                var message: TelegramObjects.Message?
                if let found = try await visibleMessage(query.messageID, to: bot), let chat = try await renderer.chat(id: found.chatID) {
                    message = try await renderer.message(found, in: chat)
                }
                object.callback_query = TelegramObjects.CallbackQuery(
                    id: query.id, from: from, message: message, chat_instance: String(message?.chat.id ?? 0), data: query.data
                )
            case .myChatMember:
                // A DM begins with the person's first message; Telegram tells a bot of nothing before it.
                guard let chatID = update.chatID, let chat = try await renderer.chat(id: chatID), chat.type != "private",
                      let me = try await renderer.user(bot.userID)
                else { continue }
                let joined = update.detail == "joined"
                let from = try await chatOwner(chatID).asyncMap { try await renderer.user($0) } ?? nil
                object.my_chat_member = TelegramObjects.ChatMemberUpdated(
                    chat: chat, from: from ?? me, date: update.createdAt.seconds,
                    old_chat_member: .init(status: joined ? "left" : "member", user: me),
                    new_chat_member: .init(status: joined ? "member" : "left", user: me)
                )
            }
            rendered.append(object)
        }
        return rendered
    }

    private func chatOwner(_ chatID: UUID) async throws -> UUID? {
        try await store.chats.find(id: chatID)?.ownerID
    }

    /// A message the bot may read now (a member of its chat, not deleted or hidden).
    private func visibleMessage(_ id: UUID, to bot: BotService.Identity) async throws -> Message? {
        do {
            let (message, _) = try await messages.message(id, for: bot.userID)
            return message.isDeleted ? nil : message
        } catch let error as CourierError where error.kind == .notFound || error.kind == .forbidden {
            return nil
        }
    }

    // MARK: Webhooks

    func setWebhook(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> Bool {
        let url = try arguments.string("url") ?? ""
        if url.isEmpty { return try await deleteWebhook(bot, arguments) }
        let secret = try arguments.string("secret_token")
        if let secret {
            guard (1...256).contains(secret.count),
                  secret.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-") })
            else { throw BotCallError.badRequest("secret token contains unallowed characters") }
        }
        try await bots.webhookTarget(url)
        if let kinds = try arguments.object("allowed_updates", as: [String].self) {
            try await store.bots.setAllowedUpdates(kinds.isEmpty ? nil : kinds, of: bot.userID)
        }
        if try arguments.bool("drop_pending_updates") == true { try await dropPending(bot) }
        try await store.bots.setWebhook(.init(url: url, secret: secret), of: bot.userID)
        await polling.endAll(of: bot.userID)
        polling.webhookWakeup.signal()
        return true
    }

    func deleteWebhook(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> Bool {
        if try arguments.bool("drop_pending_updates") == true { try await dropPending(bot) }
        try await store.bots.setWebhook(nil, of: bot.userID)
        return true
    }

    private func dropPending(_ bot: BotService.Identity) async throws {
        while try await store.bots.collect(for: bot.userID) > 0 {}
        try await store.bots.confirm(below: try await store.bots.lastUpdateID(of: bot.userID) + 1, of: bot.userID)
    }

    func getWebhookInfo(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.WebhookInfo {
        try await store.bots.collect(for: bot.userID)
        let webhook = try await store.bots.webhook(of: bot.userID)
        return TelegramObjects.WebhookInfo(
            url: webhook?.url ?? "", pending_update_count: try await store.bots.pendingCount(of: bot.userID),
            last_error_date: webhook?.lastErrorAt?.seconds, last_error_message: webhook?.lastError,
            allowed_updates: try await store.bots.allowedUpdates(of: bot.userID)
        )
    }

    // MARK: Messages

    /// The chat a `chat_id` names, if the bot is a member: a person's id names the DM they have with
    /// the bot (a bot cannot start one), a negative id a group or channel, `@name` a channel.
    func chat(_ arguments: BotAPIArguments, _ name: String = "chat_id", for bot: BotService.Identity) async throws -> ChatService.Membered {
        let text = try arguments.requiredString(name)
        let chatID: UUID?
        if text.hasPrefix("@") {
            chatID = try await (try? Username(String(text.dropFirst()))).asyncMap { try await store.chats.channelID(username: $0) } ?? nil
        } else if let number = Int64(text), number != 0, number != .min {
            if number > 0 {
                chatID = try await store.bots.entity(for: number).asyncMap { try await store.chats.directChatID(between: bot.userID, and: $0) } ?? nil
            } else {
                chatID = try await store.bots.entity(for: -number)
            }
        } else {
            throw BotCallError.badRequest("invalid chat_id")
        }
        guard let chatID else { throw BotCallError.chatNotFound }
        do {
            return try await chats.memberAccess(chatID, for: bot.userID)
        } catch let error as CourierError where error.kind == .notFound || error.kind == .forbidden {
            throw BotCallError.chatNotFound
        }
    }

    /// The message `message_id` (its position) of a chat the bot is in.
    func message(_ arguments: BotAPIArguments, _ name: String = "message_id", in chat: ChatService.Membered) async throws -> Message {
        let seq = try arguments.requiredInt(name)
        guard let message = try await store.messages.find(chatID: chat.chat.id, seq: seq), !message.isDeleted else {
            throw BotCallError.badRequest("message not found")
        }
        return message
    }

    /// `reply_to_message_id`, or `reply_parameters.message_id`, as the message it names.
    func replyTarget(_ arguments: BotAPIArguments, in chat: ChatService.Membered) async throws -> UUID? {
        struct ReplyParameters: Decodable { let message_id: Int64 }
        let seq = try arguments.int("reply_to_message_id") ?? (try arguments.object("reply_parameters", as: ReplyParameters.self))?.message_id
        guard let seq else { return nil }
        guard let message = try await store.messages.find(chatID: chat.chat.id, seq: seq), !message.isDeleted else {
            throw BotCallError.badRequest("message to be replied not found")
        }
        return message.id
    }

    /// `reply_markup` as buttons to store: an inline keyboard; other keyboards (a reply keyboard,
    /// its removal, a forced reply) have no place in Courier's clients and are left out.
    func keyboard(_ arguments: BotAPIArguments) throws -> InlineKeyboard?? {
        guard let markup = try arguments.json("reply_markup") else { return .none }
        guard case .object(let object) = markup, object["inline_keyboard"] != nil else { return .some(nil) }
        return .some(try arguments.object("reply_markup", as: InlineKeyboard.self))
    }

    func sendMessage(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        let chat = try await chat(arguments, for: bot)
        let text = try arguments.requiredString("text")
        var draft = try MessageDraft(chatID: chat.chat.id, content: text, replyToID: try await replyTarget(arguments, in: chat))
        if case .some(let keyboard?) = try keyboard(arguments) { draft.metadata = [MessageDraft.replyMarkupKey: keyboard.jsonValue] }
        let sent = try await messages.send(draft, from: bot.userID)
        return try await rendered(sent.message, for: bot)
    }

    func editMessageText(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        try await editOwnMessage(bot, arguments) { _ in try arguments.requiredString("text") }
    }

    func editMessageCaption(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        try await editOwnMessage(bot, arguments) { message in
            guard !message.media.isEmpty || message.kind != .text else { throw BotCallError.badRequest("there is no caption in the message to edit") }
            let caption = try arguments.string("caption") ?? ""
            guard caption.count <= 1024 else { throw BotCallError.badRequest("message caption is too long") }
            return caption
        }
    }

    func editMessageReplyMarkup(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        try await editOwnMessage(bot, arguments) { $0.content }
    }

    /// Changes the text (or caption) of one of the bot's own messages, and its buttons: Telegram
    /// removes the buttons of an edit that does not name them again.
    private func editOwnMessage(
        _ bot: BotService.Identity, _ arguments: BotAPIArguments, newText: (Message) throws -> String
    ) async throws -> TelegramObjects.Message {
        guard try arguments.string("inline_message_id") == nil else { throw BotCallError.badRequest("inline messages are not supported") }
        let chat = try await chat(arguments, for: bot)
        let message = try await message(arguments, in: chat)
        guard message.senderID == bot.userID else { throw BotCallError.badRequest("message can't be edited") }
        let text = try newText(message)
        let markup: JSONValue?? = switch try keyboard(arguments) {
        case .some(let keyboard?): .some(keyboard.jsonValue)
        default: .some(nil)
        }
        if MessageDraft.normalized(text) == message.content, markup == .some(message.metadata?[MessageDraft.replyMarkupKey]) {
            throw BotCallError.badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
        }
        let edited = try await messages.edit(message.id, content: text, replyMarkup: markup, by: bot.userID)
        return try await rendered(edited.message, for: bot)
    }

    func deleteMessage(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> Bool {
        let chat = try await chat(arguments, for: bot)
        let message = try await message(arguments, in: chat)
        do {
            try await messages.delete(message.id, for: .everyone, by: bot.userID)
        } catch let error as CourierError where error.kind == .forbidden {
            throw BotCallError.badRequest("message can't be deleted")
        }
        return true
    }

    func forwardMessage(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        let target = try await chat(arguments, for: bot)
        let source = try await chat(arguments, "from_chat_id", for: bot)
        let original = try await message(arguments, in: source)
        let forwarded = try await messages.forward(original.id, to: target.chat.id.uuidString, by: bot.userID)
        return try await rendered(forwarded, for: bot)
    }

    func sendChatAction(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> Bool {
        let chat = try await chat(arguments, for: bot)
        _ = try arguments.requiredString("action")
        try await chats.typing(in: chat.chat.id, by: bot.userID)
        return true
    }

    private func rendered(_ message: Message, for bot: BotService.Identity) async throws -> TelegramObjects.Message {
        let renderer = renderer(for: bot)
        guard let chat = try await renderer.chat(id: message.chatID) else { throw BotCallError.chatNotFound }
        return try await renderer.message(message, in: chat)
    }

    // MARK: Buttons

    func answerCallbackQuery(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> Bool {
        let id = try arguments.requiredString("callback_query_id")
        let text = try arguments.string("text")
        guard (text?.count ?? 0) <= 200 else { throw BotCallError.badRequest("text is too long") }
        let url = try arguments.string("url")
        if let url, !WebURL.isValid(url, maxBytes: 2048) { throw BotCallError.badRequest("url must be an http(s) URL") }
        let answer = BotService.CallbackAnswer(answered: true, text: text, showAlert: try arguments.bool("show_alert") ?? false, url: url)
        let json = String(decoding: try JSONEncoder().encode(answer), as: UTF8.self)
        guard try await store.bots.answerCallback(id, of: bot.userID, answer: json, at: .now()) else {
            throw BotCallError.badRequest("query is too old and response timeout expired or query ID is invalid")
        }
        await polling.answered(id)
        return true
    }

    // MARK: Chats

    func getChat(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.ChatFullInfo {
        let chat = try await chat(arguments, for: bot)
        let object = try await renderer(for: bot).chat(chat.chat)
        let description = chat.chat.kind == .channel ? try await store.chats.channelInfo(chat.chat.id)?.description : nil
        return TelegramObjects.ChatFullInfo(
            id: object.id, type: object.type, title: object.title, username: object.username, first_name: object.first_name,
            description: description
        )
    }

    func getChatMember(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.ChatMember {
        let chat = try await chat(arguments, for: bot)
        let renderer = renderer(for: bot)
        guard let userID = try await store.bots.entity(for: try arguments.requiredInt("user_id")),
              let user = try await renderer.user(userID)
        else { throw BotCallError.badRequest("user not found") }
        let role = try await store.chats.roles(of: userID, in: [chat.chat.id])[chat.chat.id]
        let status = switch role {
        case .owner?: "creator"
        case .admin?: "administrator"
        case .member?, .subscriber?: "member"
        case nil: "left"
        }
        return TelegramObjects.ChatMember(status: status, user: user)
    }
}

import CourierCore
import CourierStore
import Foundation

/// Bots as people manage and use them: making, listing, re-keying and deleting one's bots, the
/// commands of the bots in a chat, and pressing a button under a bot's message. The Bot API's side
/// is `BotAPIMethods`; both stand on the same stores and services.
public struct BotService: Sendable {
    let bots: BotStore
    let users: UserStore
    let chats: ChatService
    let messages: MessageService
    let passwords: PasswordHasher
    let polling: BotPolling
    let audit: AuditService
    let settings: BotSettings
    /// Presses waiting for an answer, per person.
    let pressing = PerKeyLimit(limit: 5)

    /// A bot as the Bot API knows the caller: found by its token.
    public struct Identity: Sendable {
        public let userID: UUID
        public let number: Int64
        public let username: Username
    }

    /// The bot's answer to a pressed button; nil fields when it did not answer in time.
    public struct CallbackAnswer: Sendable, Codable, Equatable {
        public var answered: Bool
        public var text: String?
        public var showAlert: Bool?
        public var url: String?

        enum CodingKeys: String, CodingKey {
            case answered, text, url
            case showAlert = "show_alert"
        }
    }

    // MARK: Owners

    /// Makes a bot owned by `ownerID` and returns it with its token, shown this once.
    public func create(username rawUsername: String?, by ownerID: UUID) async throws -> (bot: BotStore.Bot, token: BotToken) {
        let username = try Username(rawUsername ?? "")
        guard username.isBotName else {
            throw CourierError.invalid("username", "A bot's username must end in \"bot\", as on Telegram.")
        }
        let id = UUID.random()
        let now = Timestamp.now()
        let user = User(
            id: id, phone: try Self.placeholderPhone(), email: nil, username: username, bio: nil, avatarURL: nil, isPremium: false,
            isBot: true, createdAt: now, updatedAt: now
        )
        // A bot never signs in with a password: the hash is of 32 random bytes nobody keeps.
        let passwordHash = try await passwords.hash(try Password(SecretToken.random(bytes: 32)))
        let number = try await bots.number(for: id)
        let token = BotToken.generate(botNumber: number)
        try await bots.create(user, passwordHash: passwordHash, ownerID: ownerID, tokenHash: token.secretHash, limit: settings.maxBotsPerOwner)
        await audit.record(.init(action: "bot_created", actorID: ownerID, subjectID: id))
        return (BotStore.Bot(userID: id, ownerID: ownerID, username: username, createdAt: now), token)
    }

    public func bots(of ownerID: UUID) async throws -> [(bot: BotStore.Bot, number: Int64)] {
        var listed: [(BotStore.Bot, Int64)] = []
        for bot in try await bots.bots(ownedBy: ownerID) { listed.append((bot, try await bots.number(for: bot.userID))) }
        return listed
    }

    /// A new token for one's bot; the old one stops working at once. Whoever held it loses what it
    /// set up too: a waiting long poll ends (409), and the webhook is removed (the new token's
    /// holder sets it again), so a leaked token's thief hears nothing more.
    public func replaceToken(of botID: UUID, by ownerID: UUID) async throws -> BotToken {
        let token = BotToken.generate(botNumber: try await bots.number(for: botID))
        guard try await bots.replaceToken(of: botID, ownedBy: ownerID, with: token.secretHash) else { throw CourierError.notFound("bot") }
        await polling.endAll(of: botID)
        await audit.record(.init(action: "bot_token_replaced", actorID: ownerID, subjectID: botID))
        return token
    }

    /// Deletes one's bot. It leaves its groups and channels first, as a member who leaves does, so
    /// their members see it go; its DMs stay, with a deleted account on the other side.
    public func delete(_ botID: UUID, by ownerID: UUID) async throws {
        guard try await bots.bot(botID)?.ownerID == ownerID else { throw CourierError.notFound("bot") }
        for chatID in try await chats.chatIDs(of: botID, limit: 100_000) {
            do {
                try await chats.removeMember(botID, from: chatID, by: botID)
            } catch let error as CourierError where error.kind == .forbidden || error.kind == .notFound {
                continue
            }
        }
        guard try await bots.delete(botID, ownedBy: ownerID) else { throw CourierError.notFound("bot") }
        await audit.record(.init(action: "bot_deleted", actorID: ownerID, subjectID: botID))
    }

    /// A bot's phone column holds a number no telephone has (country code 999 is not assigned)
    /// and nobody sees: accounts need one, and bots have none.
    private static func placeholderPhone() throws -> PhoneNumber {
        try PhoneNumber("+999" + String(UInt64.random(in: 10_000_000_000...99_999_999_999)))
    }

    // MARK: People in chats

    /// The commands of the bots in a chat the caller is a member of.
    public func commands(inChat chatID: UUID, for userID: UUID) async throws -> [(botID: UUID, username: Username, command: BotCommand)] {
        _ = try await chats.memberAccess(chatID, for: userID)
        return try await bots.commands(inChat: chatID).flatMap { bot in bot.commands.map { (bot.botID, bot.username, $0) } }
    }

    /// Presses the button carrying `data` under a bot's message, and waits for the bot's answer.
    public func press(_ messageID: UUID, data: String, by userID: UUID) async throws -> CallbackAnswer {
        let (message, access) = try await messages.message(messageID, for: userID)
        guard !message.isDeleted, let botID = message.senderID,
              let keyboard = InlineKeyboard(metadata: message.metadata), keyboard.hasButton(withData: data),
              try await bots.bot(botID) != nil
        else { throw CourierError.invalid("data", "The message has no button with this data.") }
        let query = BotStore.CallbackQuery(
            id: SecretToken.random(bytes: 12), botID: botID, userID: userID, messageID: messageID, data: data, answer: nil
        )
        // Each press holds its request until the bot answers: a person has a few at a time.
        guard await pressing.enter(userID) else {
            throw CourierError(.tooManyRequests(retryAfterSeconds: 10), code: "too_many_presses", message: "Wait for the bots to answer your other presses.")
        }
        defer { Task { await pressing.leave(userID) } }
        _ = try await bots.recordCallback(query, chatID: access.chat.id, at: .now())
        polling.webhookWakeup.signal()
        await polling.wake([botID])
        // The bot answers through another request, perhaps on another node: this node's answer
        // wakes the wait at once, another node's is read from the database twice a second.
        let deadline = ContinuousClock.now + settings.callbackAnswerTimeout
        while true {
            if let answer = try await bots.callback(query.id)?.answer {
                var decoded = (try? JSONDecoder().decode(CallbackAnswer.self, from: Data(answer.utf8))) ?? CallbackAnswer(answered: true)
                decoded.answered = true
                return decoded
            }
            let now = ContinuousClock.now
            guard now < deadline, !Task.isCancelled else { return CallbackAnswer(answered: false) }
            await polling.waitForAnswer(query.id, upTo: min(.milliseconds(500), deadline - now))
        }
    }

    // MARK: Webhooks

    /// Where a webhook request goes: for plain HTTP, the address that was checked (with the name
    /// in `Host`), so a name that resolves to another address a moment later (DNS rebinding)
    /// cannot turn the request into this server's own network.
    struct WebhookTarget: Sendable {
        let url: String
        let host: String?
    }

    /// Checks a webhook URL: http(s), and unless the server allows it, not an address of a private,
    /// loopback or link-local network (a bot's owner could otherwise make this server call into its
    /// own network). Checked again before every delivery, as a name's addresses can change.
    @discardableResult
    func webhookTarget(_ text: String) async throws -> WebhookTarget {
        guard WebURL.isValid(text, maxBytes: 2048), let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty, components.user == nil, components.password == nil
        else {
            throw BotCallError.badRequest("bad webhook: an HTTP URL must be provided for webhook")
        }
        guard !settings.webhooksToPrivateNetworks else { return WebhookTarget(url: text, host: nil) }
        let addresses = try await NetworkAddress.resolve(host)
        guard let first = addresses.first else { throw BotCallError.badRequest("bad webhook: failed to resolve host: Name or service not known") }
        if let reserved = addresses.first(where: \.isPrivate) {
            throw BotCallError.badRequest("bad webhook: IP address \(reserved.text) is reserved")
        }
        guard scheme == "http" else { return WebhookTarget(url: text, host: nil) }
        let port = components.port ?? 80
        let literal = first.bytes.count == 16 ? "[\(first.text)]" : first.text
        let query = components.percentEncodedQuery.map { "?\($0)" } ?? ""
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        return WebhookTarget(url: "http://\(literal):\(port)\(path)\(query)", host: components.port.map { "\(host):\($0)" } ?? host)
    }

    // MARK: The Bot API's caller

    /// The bot a token belongs to; 401 for anything else, the same whether the bot does not
    /// exist or the secret is wrong.
    public func authenticate(_ text: Substring) async throws -> Identity {
        guard let token = BotToken(parsing: text),
              let botID = try await bots.entity(for: token.botNumber),
              let credentials = try await bots.credentials(of: botID),
              token.matches(hash: credentials.tokenHash)
        else { throw BotCallError.unauthorized }
        return Identity(userID: botID, number: token.botNumber, username: credentials.username)
    }
}

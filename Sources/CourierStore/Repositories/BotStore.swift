import CourierCore
import Crypto
import Foundation
import SQLKit

/// Bots in the database: their accounts and tokens, their commands and webhooks, the updates they
/// have not confirmed, the buttons people press under their messages, and the Bot API's integer
/// ids of users and chats.
///
/// A bot's updates come from the logs every change is already written to: `collect` copies what
/// is new in the bot's chats' logs (`chat_members.feed_pts`) and in its own log (`bots.account_pts`:
/// joining and leaving chats) into `bot_updates`, numbering them with the bot's `last_update_id`.
/// Nothing on the send path writes for bots, and an update stored before a crash is still in the
/// log afterwards, so a bot misses nothing.
public struct BotStore: Sendable {
    let engine: any DatabaseEngine
    let keyring: Keyring
    let users: UserStore

    public init(engine: any DatabaseEngine, keyring: Keyring, users: UserStore) {
        self.engine = engine
        self.keyring = keyring
        self.users = users
    }

    /// A bot as its owner manages it.
    public struct Bot: Sendable, Equatable {
        public let userID: UUID
        public let ownerID: UUID
        public let username: Username
        public let createdAt: Timestamp

        public init(userID: UUID, ownerID: UUID, username: Username, createdAt: Timestamp) {
            self.userID = userID
            self.ownerID = ownerID
            self.username = username
            self.createdAt = createdAt
        }
    }

    /// A bot's webhook: where its updates are posted and the secret sent with them.
    public struct Webhook: Sendable, Equatable {
        public let url: String
        public let secret: String?
        public var lastErrorAt: Timestamp?
        public var lastError: String?

        public init(url: String, secret: String?, lastErrorAt: Timestamp? = nil, lastError: String? = nil) {
            self.url = url
            self.secret = secret
            self.lastErrorAt = lastErrorAt
            self.lastError = lastError
        }
    }

    /// What the Bot API needs of a bot on every call: found by its token.
    public struct Credentials: Sendable {
        public let userID: UUID
        public let tokenHash: String
        public let username: Username
    }

    /// A stored update, in the order the bot gets them.
    public struct Update: Sendable, Equatable {
        public enum Kind: String, Sendable {
            case message
            case editedMessage = "edited_message"
            case callbackQuery = "callback_query"
            case myChatMember = "my_chat_member"
        }

        public let updateID: Int64
        public let kind: Kind
        public let chatID: UUID?
        public let messageID: UUID?
        /// Who caused it: the sender, the person who pressed, who left or joined.
        public let actorID: UUID?
        /// `joined` or `left` for `my_chat_member`; the query's id for `callback_query`.
        public let detail: String?
        public let createdAt: Timestamp
    }

    /// A button pressed under a bot's message.
    public struct CallbackQuery: Sendable, Equatable {
        public let id: String
        public let botID: UUID
        public let userID: UUID
        public let messageID: UUID
        public let data: String
        public let answer: String?

        public init(id: String, botID: UUID, userID: UUID, messageID: UUID, data: String, answer: String?) {
            self.id = id
            self.botID = botID
            self.userID = userID
            self.messageID = messageID
            self.data = data
            self.answer = answer
        }
    }

    // MARK: Accounts

    /// Stores a bot's account and its row in one transaction, refusing a 21st bot of one owner.
    public func create(_ user: User, passwordHash: String, ownerID: UUID, tokenHash: String, limit: Int) async throws {
        let sealed = try await users.seal(user)
        do {
            try await engine.write { sql in
                // The owner's row, locked: two makes at once count one after the other (PostgreSQL).
                try await sql.raw("UPDATE users SET updated_at = updated_at WHERE id = \(bind: ownerID)").run()
                let owned = try await sql.raw("SELECT COUNT(*) AS n FROM bots WHERE owner_id = \(bind: ownerID)")
                    .first()?.decode(column: "n", as: Int.self) ?? 0
                guard owned < limit else {
                    throw CourierError(.forbidden, code: "bot_limit_reached", message: "A person can own at most \(limit) bots.")
                }
                try await sql.raw(UserStore.insert(user, sealed, passwordHash: passwordHash)).run()
                try await sql.raw("""
                    INSERT INTO bots (user_id, owner_id, token_hash, created_at)
                    VALUES (\(bind: user.id), \(bind: ownerID), \(bind: tokenHash), \(bind: user.createdAt.milliseconds))
                    """).run()
            }
        } catch {
            throw UserStore.conflict(from: error) ?? error
        }
    }

    /// The bots `ownerID` owns, oldest first.
    public func bots(ownedBy ownerID: UUID) async throws -> [Bot] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT b.user_id, b.owner_id, u.username, b.created_at FROM bots b JOIN users u ON u.id = b.user_id
                WHERE b.owner_id = \(bind: ownerID) ORDER BY b.created_at, b.user_id
                """).all().map(Self.bot(from:))
        }
    }

    public func bot(_ botID: UUID) async throws -> Bot? {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT b.user_id, b.owner_id, u.username, b.created_at FROM bots b JOIN users u ON u.id = b.user_id
                WHERE b.user_id = \(bind: botID)
                """).first().map(Self.bot(from:))
        }
    }

    /// The bot a token's id part names, with the hash its secret part must match.
    public func credentials(of botID: UUID) async throws -> Credentials? {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT b.user_id, b.token_hash, u.username FROM bots b JOIN users u ON u.id = b.user_id WHERE b.user_id = \(bind: botID)
                """).first().map { row in
                    Credentials(
                        userID: try row.decode(column: "user_id", as: UUID.self),
                        tokenHash: try row.decode(column: "token_hash", as: String.self),
                        username: try Username(row.decode(column: "username", as: String.self))
                    )
                }
        }
    }

    /// Replaces a bot's token (the old one stops working at once) and removes the webhook the old
    /// one may have set, in one statement: a crash cannot leave a thief's webhook behind a new
    /// token. False when `ownerID` owns no such bot.
    public func replaceToken(of botID: UUID, ownedBy ownerID: UUID, with tokenHash: String) async throws -> Bool {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE bots SET token_hash = \(bind: tokenHash), webhook_url = NULL, webhook_secret = NULL, webhook_error_at = NULL, webhook_error = NULL
                WHERE user_id = \(bind: botID) AND owner_id = \(bind: ownerID) RETURNING user_id
                """).first() != nil
        }
    }

    /// Deletes a bot's account (its memberships and updates go with it; its messages stay, without
    /// a sender, as a deleted person's do); false when `ownerID` owns no such bot.
    public func delete(_ botID: UUID, ownedBy ownerID: UUID) async throws -> Bool {
        try await engine.write { sql in
            guard try await sql.raw("""
                SELECT user_id FROM bots WHERE user_id = \(bind: botID) AND owner_id = \(bind: ownerID)
                """).first() != nil
            else { return false }
            try await sql.raw("DELETE FROM users WHERE id = \(bind: botID) AND is_bot = 1").run()
            return true
        }
    }

    // MARK: Commands

    public func setCommands(_ commands: [BotCommand], of botID: UUID) async throws {
        let text = commands.isEmpty ? nil : String(decoding: try JSONEncoder().encode(commands), as: UTF8.self)
        try await engine.write { sql in
            try await sql.raw("UPDATE bots SET commands = \(bind: text) WHERE user_id = \(bind: botID)").run()
        }
    }

    public func commands(of botID: UUID) async throws -> [BotCommand] {
        let text = try await engine.read { sql in
            try await sql.raw("SELECT commands FROM bots WHERE user_id = \(bind: botID)").first()?.decode(column: "commands", as: String?.self)
        }
        return try Self.commands(from: text)
    }

    /// The commands of the bots that are members of `chatID`, by bot.
    public func commands(inChat chatID: UUID) async throws -> [(botID: UUID, username: Username, commands: [BotCommand])] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT b.user_id, u.username, b.commands FROM chat_members m JOIN bots b ON b.user_id = m.user_id
                JOIN users u ON u.id = b.user_id
                WHERE m.chat_id = \(bind: chatID) AND b.commands IS NOT NULL ORDER BY u.username
                """).all().map { row in
                    (
                        try row.decode(column: "user_id", as: UUID.self),
                        try Username(row.decode(column: "username", as: String.self)),
                        try Self.commands(from: row.decode(column: "commands", as: String?.self))
                    )
                }
        }
    }

    private static func commands(from text: String?) throws -> [BotCommand] {
        guard let text else { return [] }
        return try JSONDecoder().decode([BotCommand].self, from: Data(text.utf8))
    }

    // MARK: Update kinds

    /// Remembers the kinds of update the bot asked for (nil: every kind), as Telegram does between calls.
    public func setAllowedUpdates(_ kinds: [String]?, of botID: UUID) async throws {
        let text = try kinds.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try await engine.write { sql in
            try await sql.raw("UPDATE bots SET allowed_updates = \(bind: text) WHERE user_id = \(bind: botID)").run()
        }
    }

    public func allowedUpdates(of botID: UUID) async throws -> [String]? {
        let text = try await engine.read { sql in
            try await sql.raw("SELECT allowed_updates FROM bots WHERE user_id = \(bind: botID)").first()?.decode(column: "allowed_updates", as: String?.self)
        }
        return try text.map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) }
    }

    // MARK: Webhooks

    /// Sets or (nil) removes a bot's webhook. The secret is sealed: it is the bot's proof that a
    /// request comes from this server.
    public func setWebhook(_ webhook: Webhook?, of botID: UUID) async throws {
        let secret = try await keyring.seal(webhook?.secret, Self.secretContext(botID))
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE bots SET webhook_url = \(bind: webhook?.url), webhook_secret = \(bind: secret), webhook_error_at = NULL, webhook_error = NULL
                WHERE user_id = \(bind: botID)
                """).run()
        }
    }

    public func webhook(of botID: UUID) async throws -> Webhook? {
        guard let row = try await engine.read({ sql in
            try await sql.raw("""
                SELECT webhook_url, webhook_secret, webhook_error_at, webhook_error FROM bots WHERE user_id = \(bind: botID) AND webhook_url IS NOT NULL
                """).first()
        }) else { return nil }
        return Webhook(
            url: try row.decode(column: "webhook_url", as: String.self),
            secret: try await keyring.open(try row.decode(column: "webhook_secret", as: String?.self), Self.secretContext(botID)),
            lastErrorAt: try row.decode(column: "webhook_error_at", as: Int64?.self).map(Timestamp.init(milliseconds:)),
            lastError: try row.decode(column: "webhook_error", as: String?.self)
        )
    }

    /// The bots that have a webhook.
    public func botsWithWebhooks() async throws -> [UUID] {
        try await engine.read { sql in
            try await sql.raw("SELECT user_id FROM bots WHERE webhook_url IS NOT NULL ORDER BY user_id").all()
                .map { try $0.decode(column: "user_id", as: UUID.self) }
        }
    }

    /// Notes why the last delivery to a webhook failed (nil: it worked again).
    public func recordWebhookError(_ error: String?, of botID: UUID, at time: Timestamp) async throws {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE bots SET webhook_error_at = \(bind: error == nil ? nil : time.milliseconds), webhook_error = \(bind: error)
                WHERE user_id = \(bind: botID)
                """).run()
        }
    }

    static func secretContext(_ botID: UUID) -> Keyring.FieldContext {
        Keyring.FieldContext(table: "bots", rowID: botID, scope: .accounts, field: "webhook_secret")
    }

    // MARK: Updates

    /// Copies what is new for the bot in its chats' logs and its own into its updates, and returns
    /// how many it took. At most `limit` chat entries a call; a bot far behind gets the rest on
    /// the next call.
    @discardableResult
    public func collect(for botID: UUID, limit: Int = 500) async throws -> Int {
        // Most looks find nothing new (every stored change wakes every waiting poll): a read says
        // so without taking the writer.
        guard try await hasNewEntries(for: botID) else { return 0 }
        return try await engine.write { sql in
            // The bot's row first: two collections (or a collection and a button pressed) number
            // their updates one after the other.
            guard let counters = try await sql.raw("""
                UPDATE bots SET last_update_id = last_update_id WHERE user_id = \(bind: botID) RETURNING last_update_id, account_pts
                """).first()
            else { return 0 }
            var next = try counters.decode(column: "last_update_id", as: Int64.self)
            let accountPts = try counters.decode(column: "account_pts", as: Int64.self)
            var taken = 0
            // Joining and leaving chats, from the bot's own log.
            let joins = try await sql.raw("""
                SELECT pts, kind, chat_id, created_at FROM account_updates
                WHERE user_id = \(bind: botID) AND pts > \(bind: accountPts) ORDER BY pts LIMIT \(bind: limit)
                """).all()
            var lastAccountPts = accountPts
            for row in joins {
                lastAccountPts = try row.decode(column: "pts", as: Int64.self)
                let kind = try row.decode(column: "kind", as: String.self)
                guard kind == AccountUpdate.Kind.chatJoined.rawValue || kind == AccountUpdate.Kind.chatLeft.rawValue,
                      let chatID = try row.decode(column: "chat_id", as: UUID?.self)
                else { continue }
                next += 1
                taken += 1
                try await Self.insertUpdate(
                    Update(
                        updateID: next, kind: .myChatMember, chatID: chatID, messageID: nil, actorID: nil,
                        detail: kind == AccountUpdate.Kind.chatJoined.rawValue ? "joined" : "left",
                        createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self))
                    ),
                    of: botID, on: sql
                )
            }
            // New and edited messages in its chats. Taken in each chat's order, so that what a limit
            // cuts off is always the end of a chat's run, never a gap before `feed_pts` moves past
            // it; then numbered oldest first across the chats.
            let entries = try await sql.raw("""
                SELECT cu.chat_id, cu.pts, cu.kind, cu.message_id, cu.user_id, cu.created_at FROM chat_members m
                JOIN chat_updates cu ON cu.chat_id = m.chat_id AND cu.pts > m.feed_pts
                WHERE m.user_id = \(bind: botID) ORDER BY cu.chat_id, cu.pts LIMIT \(bind: limit)
                """).all()
            let ordered = try Self.oldestFirstKeepingEachChatsOrder(entries)
            var reached: [UUID: Int64] = [:]
            for row in ordered {
                let chatID = try row.decode(column: "chat_id", as: UUID.self)
                reached[chatID] = max(reached[chatID] ?? 0, try row.decode(column: "pts", as: Int64.self))
                let kind: Update.Kind
                switch try row.decode(column: "kind", as: String.self) {
                case ChatUpdate.Kind.newMessage.rawValue: kind = .message
                case ChatUpdate.Kind.messageEdited.rawValue: kind = .editedMessage
                default: continue
                }
                let actorID = try row.decode(column: "user_id", as: UUID?.self)
                // A bot does not hear its own messages.
                guard actorID != botID, let messageID = try row.decode(column: "message_id", as: UUID?.self) else { continue }
                next += 1
                taken += 1
                try await Self.insertUpdate(
                    Update(
                        updateID: next, kind: kind, chatID: chatID, messageID: messageID, actorID: actorID, detail: nil,
                        createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self))
                    ),
                    of: botID, on: sql
                )
            }
            for (chatID, pts) in reached {
                try await sql.raw("""
                    UPDATE chat_members SET feed_pts = \(bind: pts) WHERE chat_id = \(bind: chatID) AND user_id = \(bind: botID) AND feed_pts < \(bind: pts)
                    """).run()
            }
            if taken > 0 || lastAccountPts != accountPts {
                try await sql.raw("""
                    UPDATE bots SET last_update_id = \(bind: next), account_pts = \(bind: lastAccountPts) WHERE user_id = \(bind: botID)
                    """).run()
            }
            return taken
        }
    }

    /// The bots among the members of `chatIDs`.
    public func bots(inChats chatIDs: [UUID]) async throws -> Set<UUID> {
        guard !chatIDs.isEmpty else { return [] }
        return try await engine.read { sql in
            Set(try await sql.raw("""
                SELECT DISTINCT m.user_id FROM chat_members m JOIN bots b ON b.user_id = m.user_id WHERE m.chat_id IN (\(anyOf: chatIDs))
                """).all().map { try $0.decode(column: "user_id", as: UUID.self) })
        }
    }

    /// Whether the bot's chats' logs or its own hold entries it has not taken yet.
    func hasNewEntries(for botID: UUID) async throws -> Bool {
        try await engine.read { sql in
            if try await sql.raw("""
                SELECT 1 AS found FROM chat_members m JOIN chat_updates cu ON cu.chat_id = m.chat_id AND cu.pts > m.feed_pts
                WHERE m.user_id = \(bind: botID) LIMIT 1
                """).first() != nil { return true }
            return try await sql.raw("""
                SELECT 1 AS found FROM account_updates a JOIN bots b ON b.user_id = a.user_id
                WHERE a.user_id = \(bind: botID) AND a.pts > b.account_pts LIMIT 1
                """).first() != nil
        }
    }

    /// Log entries of several chats, oldest first, each chat's still in `pts` order (an edit's time is
    /// taken before its transaction, so it may be earlier than a message stored before it).
    static func oldestFirstKeepingEachChatsOrder(_ rows: [any SQLRow]) throws -> [any SQLRow] {
        let keyed = try rows.map { row in
            (row: row, chat: try row.decode(column: "chat_id", as: UUID.self), pts: try row.decode(column: "pts", as: Int64.self),
             time: try row.decode(column: "created_at", as: Int64.self))
        }
        let byTime = keyed.sorted { ($0.time, $0.chat.uuidString, $0.pts) < ($1.time, $1.chat.uuidString, $1.pts) }
        // Each chat keeps the slots the time order gives it, filled in its own order.
        var queues = Dictionary(grouping: keyed, by: \.chat).mapValues { $0.sorted { $0.pts < $1.pts }[...] }
        return byTime.map { slot in queues[slot.chat]!.popFirst()!.row }
    }

    /// The bot's updates from `offset` on (all it has when nil), oldest first, of the kinds asked for.
    public func updates(of botID: UUID, from offset: Int64?, limit: Int, kinds: Set<Update.Kind>) async throws -> [Update] {
        guard !kinds.isEmpty else { return [] }
        return try await engine.read { sql in
            try await sql.raw("""
                SELECT update_id, kind, chat_id, message_id, actor_id, detail, created_at FROM bot_updates
                WHERE bot_id = \(bind: botID) AND update_id >= \(bind: offset ?? 0) AND kind IN (\(anyOf: kinds.map(\.rawValue).sorted()))
                ORDER BY update_id LIMIT \(bind: limit)
                """).all().map(Self.update(from:))
        }
    }

    /// The id of the bot's newest update (0 before its first).
    public func lastUpdateID(of botID: UUID) async throws -> Int64 {
        try await engine.read { sql in
            try await sql.raw("SELECT last_update_id FROM bots WHERE user_id = \(bind: botID)").first()?.decode(column: "last_update_id", as: Int64.self) ?? 0
        }
    }

    /// Forgets the bot's updates before `offset`: the bot has them.
    public func confirm(below offset: Int64, of botID: UUID) async throws {
        try await engine.write { sql in
            try await sql.raw("DELETE FROM bot_updates WHERE bot_id = \(bind: botID) AND update_id < \(bind: offset)").run()
        }
    }

    /// How many updates the bot has not confirmed.
    public func pendingCount(of botID: UUID) async throws -> Int {
        try await engine.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM bot_updates WHERE bot_id = \(bind: botID)").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Drops updates and answered or stale button presses older than `time` (Telegram keeps updates 24 hours).
    public func prune(before time: Timestamp) async throws {
        try await engine.write { sql in
            try await sql.raw("DELETE FROM bot_updates WHERE created_at < \(bind: time.milliseconds)").run()
            try await sql.raw("DELETE FROM bot_callback_queries WHERE created_at < \(bind: time.milliseconds)").run()
        }
    }

    private static func insertUpdate(_ update: Update, of botID: UUID, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO bot_updates (bot_id, update_id, kind, chat_id, message_id, actor_id, detail, created_at)
            VALUES (\(bind: botID), \(bind: update.updateID), \(bind: update.kind.rawValue), \(bind: update.chatID), \(bind: update.messageID),
                    \(bind: update.actorID), \(bind: update.detail), \(bind: update.createdAt.milliseconds))
            """).run()
    }

    // MARK: Buttons

    /// Stores a pressed button and the bot's `callback_query` update in one transaction. The data
    /// is sealed: it came from the bot's message, whose markup is sealed too.
    public func recordCallback(_ query: CallbackQuery, chatID: UUID, at time: Timestamp) async throws -> Int64 {
        let data = try await keyring.seal(query.data, Self.callbackContext(query.id)) ?? ""
        return try await engine.write { sql in
            guard let updateID = try await sql.raw("""
                UPDATE bots SET last_update_id = last_update_id + 1 WHERE user_id = \(bind: query.botID) RETURNING last_update_id
                """).first()?.decode(column: "last_update_id", as: Int64.self)
            else { throw CourierError.notFound("bot") }
            try await sql.raw("""
                INSERT INTO bot_callback_queries (id, bot_id, user_id, message_id, data, created_at)
                VALUES (\(bind: query.id), \(bind: query.botID), \(bind: query.userID), \(bind: query.messageID), \(bind: data), \(bind: time.milliseconds))
                """).run()
            try await Self.insertUpdate(
                Update(
                    updateID: updateID, kind: .callbackQuery, chatID: chatID, messageID: query.messageID, actorID: query.userID,
                    detail: query.id, createdAt: time
                ),
                of: query.botID, on: sql
            )
            return updateID
        }
    }

    public func callback(_ id: String) async throws -> CallbackQuery? {
        guard let row = try await engine.read({ sql in
            try await sql.raw("""
                SELECT id, bot_id, user_id, message_id, data, answer FROM bot_callback_queries WHERE id = \(bind: id)
                """).first()
        }) else { return nil }
        return CallbackQuery(
            id: try row.decode(column: "id", as: String.self),
            botID: try row.decode(column: "bot_id", as: UUID.self),
            userID: try row.decode(column: "user_id", as: UUID.self),
            messageID: try row.decode(column: "message_id", as: UUID.self),
            data: try await keyring.open(try row.decode(column: "data", as: String.self), Self.callbackContext(id)) ?? "",
            answer: try await keyring.open(try row.decode(column: "answer", as: String?.self), Self.callbackContext(id))
        )
    }

    /// Stores the bot's answer (JSON of text, alert and URL) to a press of its button, once; false
    /// when the bot has no such unanswered query.
    public func answerCallback(_ id: String, of botID: UUID, answer: String, at time: Timestamp) async throws -> Bool {
        let sealed = try await keyring.seal(answer, Self.callbackContext(id))
        return try await engine.write { sql in
            try await sql.raw("""
                UPDATE bot_callback_queries SET answer = \(bind: sealed), answered_at = \(bind: time.milliseconds)
                WHERE id = \(bind: id) AND bot_id = \(bind: botID) AND answered_at IS NULL
                  AND created_at >= \(bind: time.milliseconds - Self.callbackAnswerWindow) RETURNING id
                """).first() != nil
        }
    }

    /// How long after a press a bot may answer it (the person waits 10 s; a little more for clocks).
    static let callbackAnswerWindow: Int64 = 15_000

    static func callbackContext(_ id: String) -> Keyring.FieldContext {
        Keyring.FieldContext(table: "bot_callback_queries", rowID: Self.uuid(from: id), scope: .accounts, field: "data")
    }

    /// A stable UUID for a query id, for the keyring's context (which names rows by UUID).
    private static func uuid(from text: String) -> UUID {
        let digest = Array(SHA256.hash(data: Data(text.utf8)))
        return UUID(uuid: (digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
                           digest[8], digest[9], digest[10], digest[11], digest[12], digest[13], digest[14], digest[15]))
    }

    // MARK: Integer ids

    /// The Bot API's integer id of a user or chat: 52 bits of a hash of its UUID (every Bot API
    /// library keeps ids in a double's 53 bits), recorded so it can be looked up the other way. A
    /// clash with another entity's number takes the next hash.
    public func number(for entityID: UUID) async throws -> Int64 {
        if let known = try await engine.read({ sql in
            try await sql.raw("SELECT number FROM bot_api_ids WHERE entity_id = \(bind: entityID)").first()?.decode(column: "number", as: Int64.self)
        }) { return known }
        return try await engine.write { sql in
            for attempt in 0..<8 {
                let candidate = Self.candidateNumber(for: entityID, attempt: attempt)
                try await sql.raw("""
                    INSERT INTO bot_api_ids (number, entity_id) VALUES (\(bind: candidate), \(bind: entityID)) ON CONFLICT DO NOTHING
                    """).run()
                if let owner = try await sql.raw("SELECT entity_id FROM bot_api_ids WHERE number = \(bind: candidate)").first()?
                    .decode(column: "entity_id", as: UUID.self), owner == entityID {
                    return candidate
                }
                // Another writer recorded this entity under a number of its own meanwhile.
                if let known = try await sql.raw("SELECT number FROM bot_api_ids WHERE entity_id = \(bind: entityID)").first()?
                    .decode(column: "number", as: Int64.self) {
                    return known
                }
            }
            throw CourierError(.internalError, code: "internal_error", message: "No free Bot API id.")
        }
    }

    /// The user or chat a Bot API integer id names, if any.
    public func entity(for number: Int64) async throws -> UUID? {
        try await engine.read { sql in
            try await sql.raw("SELECT entity_id FROM bot_api_ids WHERE number = \(bind: number)").first()?.decode(column: "entity_id", as: UUID.self)
        }
    }

    public static func candidateNumber(for entityID: UUID, attempt: Int) -> Int64 {
        var input = Data(entityID.lowercasedString.utf8)
        input.append(UInt8(attempt))
        let digest = Array(SHA256.hash(data: input))
        var value: UInt64 = 0
        for byte in digest.prefix(8) { value = value << 8 | UInt64(byte) }
        // 1 … 2^52 − 1: never 0, and above the small numbers people might guess.
        return Int64(value & ((1 << 52) - 1)) | (1 << 40)
    }

    // MARK: Rows

    private static func bot(from row: any SQLRow) throws -> Bot {
        Bot(
            userID: try row.decode(column: "user_id", as: UUID.self),
            ownerID: try row.decode(column: "owner_id", as: UUID.self),
            username: try Username(row.decode(column: "username", as: String.self)),
            createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self))
        )
    }

    private static func update(from row: any SQLRow) throws -> Update {
        Update(
            updateID: try row.decode(column: "update_id", as: Int64.self),
            kind: Update.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .message,
            chatID: try row.decode(column: "chat_id", as: UUID?.self),
            messageID: try row.decode(column: "message_id", as: UUID?.self),
            actorID: try row.decode(column: "actor_id", as: UUID?.self),
            detail: try row.decode(column: "detail", as: String?.self),
            createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self))
        )
    }
}

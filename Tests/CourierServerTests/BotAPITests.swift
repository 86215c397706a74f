import CourierCore
@testable import CourierServer
import CourierStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// Bots: their accounts and tokens, the Bot API's envelope and ids, long polling and its 409,
/// webhooks (secret, retries), buttons, access and rate limits. The PyPI bot libraries are run
/// against a real server by `Tests/Bots/bots_e2e.py`.
@Suite("Bots")
struct BotAPITests {
    /// A bot made through the REST API, with its token.
    struct TestBot {
        let id: String
        let token: String
        let number: Int64
    }

    static func makeBot(_ api: APIClient, _ owner: SignedInUser, _ username: String) async throws -> TestBot {
        let response = try await api.send(.post, "/api/v1/bots", json: ["username": username], token: owner.token)
        try #require(response.status == .created, "create bot: \(response.status) \(response.json)")
        let bot = try response.object("bot")
        return TestBot(
            id: try #require(bot["id"] as? String), token: try response.string("token"),
            number: try #require((bot["telegram_id"] as? NSNumber)?.int64Value)
        )
    }

    /// A Bot API call with JSON arguments; the envelope, parsed.
    static func call(_ api: APIClient, _ token: String, _ method: String, _ arguments: [String: Any?] = [:]) async throws -> APIResponse {
        try await api.send(.post, "/bot\(token)/\(method)", json: arguments)
    }

    static func result(_ response: APIResponse) throws -> Any {
        try #require(response.json["ok"] as? Bool == true, "\(response.json)")
        return try #require(response.json["result"])
    }

    /// A DM the person started with the bot, and the bot's id for it (the person's).
    static func directChat(_ api: APIClient, _ person: SignedInUser, with bot: TestBot) async throws -> String {
        let response = try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": bot.id], token: person.token)
        try #require(response.status == .created || response.status == .ok, "\(response.json)")
        return try response.string("id")
    }

    /// A Bot API call with a multipart body (text fields and one file), as the libraries send uploads;
    /// the status and the envelope's `result`.
    static func upload(
        _ api: APIClient, _ bot: TestBot, _ method: String, fields: [String: String], file: (field: String, name: String, bytes: [UInt8])
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        let boundary = "b0undary-\(UUID().uuidString)"
        var body: [UInt8] = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += file.bytes
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        let response = try await api.client.executeRequest(
            uri: "/bot\(bot.token)/\(method)", method: .post, headers: [.contentType: "multipart/form-data; boundary=\(boundary)"],
            body: ByteBuffer(bytes: body)
        )
        let envelope = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
        return (response.status, try #require(envelope?["result"] as? [String: Any], "\(envelope ?? [:])"))
    }

    static func updates(_ api: APIClient, _ bot: TestBot, offset: Int64? = nil, timeout: Int = 0) async throws -> [[String: Any]] {
        let response = try await call(api, bot.token, "getUpdates", ["offset": offset, "timeout": timeout])
        return try #require(try result(response) as? [[String: Any]])
    }

    @Test(arguments: TestEngine.all)
    func aPersonMakesReKeysAndDeletesABot(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let mallory = try await api.register(username: "mallory")
            let refused = try await api.send(.post, "/api/v1/bots", json: ["username": "helper_1"], token: alice.token)
            #expect(refused.status == .unprocessableContent)
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            #expect(bot.token.hasPrefix("\(bot.number):"))
            let me = try #require(try Self.result(try await Self.call(api, bot.token, "getMe")) as? [String: Any])
            #expect((me["id"] as? NSNumber)?.int64Value == bot.number)
            #expect(me["is_bot"] as? Bool == true)
            #expect(me["username"] as? String == "echo_bot")
            // The account shows as a bot to people.
            let profile = try await api.send(.get, "/api/v1/users/\(bot.id)", token: mallory.token)
            #expect(profile["is_bot"] as? Bool == true)
            // Listed for its owner only.
            let listed = try await api.send(.get, "/api/v1/bots", token: alice.token)
            #expect((listed["bots"] as? [[String: Any]])?.map { $0["username"] as? String } == ["echo_bot"])
            #expect((try await api.send(.get, "/api/v1/bots", token: mallory.token)["bots"] as? [Any])?.isEmpty == true)
            // Someone else can neither re-key nor delete it.
            #expect(try await api.send(.post, "/api/v1/bots/\(bot.id)/token", token: mallory.token).status == .notFound)
            #expect(try await api.send(.delete, "/api/v1/bots/\(bot.id)", token: mallory.token).status == .notFound)
            // A new token ends the old one at once.
            let rekeyed = try await api.send(.post, "/api/v1/bots/\(bot.id)/token", token: alice.token)
            let newToken = try rekeyed.string("token")
            let old = try await Self.call(api, bot.token, "getMe")
            #expect(old.status == .unauthorized)
            #expect(old["ok"] as? Bool == false)
            #expect(old["error_code"] as? Int == 401)
            #expect(try await Self.call(api, newToken, "getMe").status == .ok)
            // Nobody signs in as a bot.
            let login = try await api.send(.post, "/api/v1/auth/login", json: ["username": "echo_bot", "password": newToken])
            #expect(login.status == .unauthorized)
            // Deleted, it leaves its groups as a member who leaves does.
            let group = try await api.createGroup(alice, name: "Team", members: [mallory])
            _ = try await api.send(.post, "/api/v1/chats/\(group)/members", json: ["user_ids": [bot.id]], token: alice.token)
            #expect(try await api.send(.delete, "/api/v1/bots/\(bot.id)", token: alice.token).status == .noContent)
            #expect(try await Self.call(api, newToken, "getMe").status == .unauthorized)
            let members = try await api.send(.get, "/api/v1/chats/\(group)/members", token: alice.token)
            #expect((members["members"] as? [[String: Any]])?.count == 2)
            #expect(try await api.send(.get, "/api/v1/chats/\(group)", token: alice.token)["member_count"] as? Int == 2)
        }
    }

    @Test
    func tokensWithTheRightIdAndAWrongSecretAreRefusedAlike() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            for token in ["\(bot.number):" + String(repeating: "A", count: 43), "1:" + String(repeating: "A", count: 43), "nonsense", "\(bot.number):short"] {
                let response = try await Self.call(api, token, "getMe")
                #expect(response.status == .unauthorized, "\(token)")
                #expect(response["description"] as? String == "Unauthorized")
            }
        }
    }

    @Test
    func guessingTokensEndsIn429() async throws {
        var limits = RateLimitSettings()
        limits.unauthenticatedPerIP = .init(3, per: 60)
        try await withTestApp(.sqlite, rateLimits: limits) { api, _ in
            for _ in 0..<3 { #expect(try await Self.call(api, "1:" + String(repeating: "B", count: 43), "getMe").status == .unauthorized) }
            let refused = try await Self.call(api, "1:" + String(repeating: "B", count: 43), "getMe")
            #expect(refused.status == .tooManyRequests)
            #expect((refused["parameters"] as? [String: Any])?["retry_after"] as? Int != nil)
        }
    }

    @Test(arguments: TestEngine.all)
    func argumentsComeInEveryFormAndErrorsInTelegramsEnvelope(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            let chat = try await Self.directChat(api, alice, with: bot)
            _ = try await api.post(alice, to: chat, "hi")
            let person = try #require(try await Self.updates(api, bot).first?["message"] as? [String: Any])
            let chatID = try #require(((person["chat"] as? [String: Any])?["id"] as? NSNumber)?.int64Value)
            // The DM's id is the person's id, as on Telegram; the message's id its position.
            #expect(person["message_id"] as? Int == 1)
            #expect(((person["from"] as? [String: Any])?["id"] as? NSNumber)?.int64Value == chatID)

            let query = try await api.send(.get, "/bot\(bot.token)/sendMessage?chat_id=\(chatID)&text=by%20query")
            #expect(query.status == .ok)
            let form = try await api.client.executeRequest(
                uri: "/bot\(bot.token)/sendMessage", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "chat_id=\(chatID)&text=by+form+%26+more")
            )
            #expect(form.status == .ok)
            let boundary = "XyZ123"
            let multipart = "--\(boundary)\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n\(chatID)\r\n"
                + "--\(boundary)\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nby multipart\r\n--\(boundary)--\r\n"
            let parts = try await api.client.executeRequest(
                uri: "/bot\(bot.token)/sendMessage", method: .post, headers: [.contentType: "multipart/form-data; boundary=\(boundary)"],
                body: ByteBuffer(string: multipart)
            )
            #expect(parts.status == .ok)
            let json = try await Self.call(api, bot.token, "sendMessage", ["chat_id": chatID, "text": "by JSON"])
            #expect(json.status == .ok)
            let history = try await api.history(alice, chat)
            let texts = (history["messages"] as? [[String: Any]])?.compactMap { $0["content"] as? String } ?? []
            #expect(Set(texts).isSuperset(of: ["by query", "by form & more", "by multipart", "by JSON"]))

            let unknown = try await Self.call(api, bot.token, "sendTelepathy")
            #expect(unknown.status == .notFound)
            #expect(unknown["ok"] as? Bool == false)
            #expect(unknown["description"] as? String == "Not Found")
            let noChat = try await Self.call(api, bot.token, "sendMessage", ["chat_id": 999_999, "text": "x"])
            #expect(noChat.status == .badRequest)
            #expect(noChat["description"] as? String == "Bad Request: chat not found")
            let empty = try await Self.call(api, bot.token, "sendMessage", ["chat_id": chatID])
            #expect(empty["description"] as? String == "Bad Request: text is empty")
            let badJSON = try await api.send(.post, "/bot\(bot.token)/sendMessage", body: "{not json")
            #expect(badJSON.status == .badRequest)
            #expect(badJSON["ok"] as? Bool == false)
            let badMarkup = try await Self.call(api, bot.token, "sendMessage", [
                "chat_id": chatID, "text": "x", "reply_markup": ["inline_keyboard": [[["text": "no action"]]]],
            ])
            #expect(badMarkup.status == .badRequest)
        }
    }

    @Test(arguments: TestEngine.all)
    func aBotSeesOnlyItsChatsAndWritesOnlyWherePeopleLetIt(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            let other = try await Self.makeBot(api, bob, "other_bot")
            let secret = try await api.createGroup(alice, name: "Secret", members: [bob])
            _ = try await api.post(bob, to: secret, "not for bots")
            #expect(try await Self.updates(api, bot).isEmpty)
            // Bob never wrote to the bot: it cannot start a DM with him.
            let bobNumber = try await Self.userNumber(api, bot, of: bob, via: alice)
            let cold = try await Self.call(api, bot.token, "sendMessage", ["chat_id": bobNumber, "text": "hello"])
            #expect(cold["description"] as? String == "Bad Request: chat not found")

            // Added to a group, it hears of it, then of its messages, and may post there.
            let group = try await api.createGroup(alice, name: "Team", members: [bob])
            let added = try await api.send(.post, "/api/v1/chats/\(group)/members", json: ["user_ids": [bot.id]], token: alice.token)
            try #require(added.status == .ok || added.status == .created, "\(added.json)")
            _ = try await api.post(bob, to: group, "/help@echo_bot now")
            let updates = try await Self.updates(api, bot)
            let joined = try #require(updates.first?["my_chat_member"] as? [String: Any])
            #expect((joined["new_chat_member"] as? [String: Any])?["status"] as? String == "member")
            let groupChat = try #require(joined["chat"] as? [String: Any])
            let groupID = try #require((groupChat["id"] as? NSNumber)?.int64Value)
            #expect(groupID < 0)
            #expect(groupChat["title"] as? String == "Team")
            let message = try #require(updates.last?["message"] as? [String: Any])
            #expect(message["text"] as? String == "/help@echo_bot now")
            let entity = try #require((message["entities"] as? [[String: Any]])?.first)
            #expect(entity["type"] as? String == "bot_command")
            #expect(entity["offset"] as? Int == 0)
            #expect(entity["length"] as? Int == 14)
            #expect(try await Self.call(api, bot.token, "sendMessage", ["chat_id": groupID, "text": "hi all"]).status == .ok)
            // Another bot cannot use the group's id, and the bot cannot touch Bob's message.
            #expect(try await Self.call(api, other.token, "sendMessage", ["chat_id": groupID, "text": "x"]).status == .badRequest)
            let seq = try #require(message["message_id"] as? Int)
            let edit = try await Self.call(api, bot.token, "editMessageText", ["chat_id": groupID, "message_id": seq, "text": "mine now"])
            #expect(edit.status == .badRequest)
            let delete = try await Self.call(api, bot.token, "deleteMessage", ["chat_id": groupID, "message_id": seq])
            #expect(delete.status == .badRequest)
            // Removed, it hears that too, and can no longer post.
            let removal = try await api.send(.delete, "/api/v1/chats/\(group)/members/\(bot.id)", token: alice.token)
            #expect(removal.status == .noContent || removal.status == .ok)
            let left = try await Self.updates(api, bot, offset: try #require(updates.last?["update_id"] as? Int64).advanced(by: 1))
            let change = try #require(left.first?["my_chat_member"] as? [String: Any])
            #expect((change["new_chat_member"] as? [String: Any])?["status"] as? String == "left")
            #expect(try await Self.call(api, bot.token, "sendMessage", ["chat_id": groupID, "text": "still here?"]).status == .badRequest)
        }
    }

    /// The Bot API id of `person`, as the bot learns it when they write in a DM.
    static func userNumber(_ api: APIClient, _ bot: TestBot, of person: SignedInUser, via owner: SignedInUser) async throws -> Int64 {
        let probe = try await makeBot(api, owner, "probe\(Int.random(in: 1000...9999))bot")
        let chat = try await directChat(api, person, with: probe)
        _ = try await api.post(person, to: chat, "hello probe")
        let message = try #require(try await updates(api, probe).first?["message"] as? [String: Any])
        return try #require(((message["from"] as? [String: Any])?["id"] as? NSNumber)?.int64Value)
    }

    @Test(arguments: TestEngine.all)
    func aPressedButtonReachesTheBotAndItsAnswerThePerson(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let stranger = try await api.register(username: "stranger")
            let bot = try await Self.makeBot(api, alice, "menu_bot")
            let chat = try await Self.directChat(api, alice, with: bot)
            _ = try await api.post(alice, to: chat, "/menu")
            let first = try await Self.updates(api, bot)
            let chatID = try #require((((first.first?["message"] as? [String: Any])?["chat"] as? [String: Any])?["id"] as? NSNumber)?.int64Value)
            let keyboard: [String: Any] = ["inline_keyboard": [[["text": "Yes", "callback_data": "yes"], ["text": "Docs", "url": "https://example.com/docs"]]]]
            let sent = try #require(try Self.result(try await Self.call(api, bot.token, "sendMessage", [
                "chat_id": chatID, "text": "Pick one", "reply_markup": keyboard, "reply_to_message_id": 1,
            ])) as? [String: Any])
            #expect(((sent["reply_to_message"] as? [String: Any])?["text"] as? String) == "/menu")
            let history = try await api.history(alice, chat)
            let message = try #require((history["messages"] as? [[String: Any]])?.first { $0["content"] as? String == "Pick one" })
            let messageID = try #require(message["id"] as? String)
            let markup = try #require((message["metadata"] as? [String: Any])?["reply_markup"] as? [String: Any])
            #expect((markup["inline_keyboard"] as? [[Any]])?.first?.count == 2)
            // People cannot forge buttons.
            let forged = try await api.sendMessage(alice, to: chat, "fake", extra: ["metadata": ["reply_markup": keyboard]])
            #expect(forged.status == .unprocessableContent)
            // No such button; not a member.
            #expect(try await api.send(.post, "/api/v1/messages/\(messageID)/callback", json: ["data": "no"], token: alice.token).status == .unprocessableContent)
            #expect(try await api.send(.post, "/api/v1/messages/\(messageID)/callback", json: ["data": "yes"], token: stranger.token).status == .notFound)

            let offset = try #require(first.last?["update_id"] as? Int64) + 1
            async let pressed = api.send(.post, "/api/v1/messages/\(messageID)/callback", json: ["data": "yes"], token: alice.token)
            var query: [String: Any]?
            try await waitUntil("the callback query") {
                query = try await Self.updates(api, bot, offset: offset, timeout: 1).first?["callback_query"] as? [String: Any]
                return query != nil
            }
            #expect(query?["data"] as? String == "yes")
            #expect(((query?["message"] as? [String: Any])?["text"] as? String) == "Pick one")
            let queryID = try #require(query?["id"] as? String)
            #expect(try await Self.call(api, bot.token, "answerCallbackQuery", ["callback_query_id": queryID, "text": "Noted"]).status == .ok)
            let answer = try await pressed
            #expect(answer["answered"] as? Bool == true)
            #expect(answer["text"] as? String == "Noted")
            // Once only.
            #expect(try await Self.call(api, bot.token, "answerCallbackQuery", ["callback_query_id": queryID]).status == .badRequest)
            // An edit without buttons takes them away, as on Telegram.
            let seq = try #require(sent["message_id"] as? Int)
            let edited = try #require(try Self.result(try await Self.call(api, bot.token, "editMessageText", [
                "chat_id": chatID, "message_id": seq, "text": "You said yes",
            ])) as? [String: Any])
            #expect(edited["reply_markup"] == nil)
            #expect(edited["edit_date"] != nil)
            let after = try await api.history(alice, chat)
            let shown = try #require((after["messages"] as? [[String: Any]])?.first { $0["id"] as? String == messageID })
            #expect(shown["content"] as? String == "You said yes")
            #expect((shown["metadata"] as? [String: Any])?["reply_markup"] == nil)
            // Buttons alone can come back, the text unchanged.
            let rebuttoned = try #require(try Self.result(try await Self.call(api, bot.token, "editMessageReplyMarkup", [
                "chat_id": chatID, "message_id": seq, "reply_markup": ["inline_keyboard": [[["text": "Again", "callback_data": "again"]]]],
            ])) as? [String: Any])
            #expect(rebuttoned["text"] as? String == "You said yes")
            #expect(rebuttoned["reply_markup"] != nil)
            let same = try await Self.call(api, bot.token, "editMessageReplyMarkup", [
                "chat_id": chatID, "message_id": seq, "reply_markup": ["inline_keyboard": [[["text": "Again", "callback_data": "again"]]]],
            ])
            #expect((same["description"] as? String)?.hasPrefix("Bad Request: message is not modified") == true)
        }
    }

    @Test
    func aSecondPollEndsTheFirstWith409() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            async let first = Self.call(api, bot.token, "getUpdates", ["timeout": 20])
            try await Task.sleep(for: .milliseconds(300))
            async let second = Self.call(api, bot.token, "getUpdates", ["timeout": 1])
            let ended = try await first
            #expect(ended.status == .conflict)
            #expect((ended["description"] as? String)?.hasPrefix("Conflict: terminated by other getUpdates request") == true)
            #expect(try await second.status == .ok)
        }
    }

    @Test
    func aLongPollReturnsAsSoonAsAMessageArrives() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            let chat = try await Self.directChat(api, alice, with: bot)
            let started = ContinuousClock.now
            async let polled = Self.updates(api, bot, timeout: 30)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await api.post(alice, to: chat, "wake up")
            let updates = try await polled
            #expect(((updates.first?["message"] as? [String: Any])?["text"] as? String) == "wake up")
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test
    func aBotOverItsLimitGets429WithRetryAfter() async throws {
        var limits = RateLimitSettings()
        limits.bot = .init(3, per: 60)
        try await withTestApp(.sqlite, rateLimits: limits) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            for _ in 0..<3 { #expect(try await Self.call(api, bot.token, "getMe").status == .ok) }
            let refused = try await Self.call(api, bot.token, "getMe")
            #expect(refused.status == .tooManyRequests)
            let retryAfter = try #require((refused["parameters"] as? [String: Any])?["retry_after"] as? Int)
            #expect((1...60).contains(retryAfter))
            #expect(refused["description"] as? String == "Too Many Requests: retry after \(retryAfter)")
        }
    }

    @Test
    func webhooksCarryTheSecretAndAreRetriedUntilTheBotsServerAnswers() async throws {
        let received = Mutex<[(secret: String?, body: Data)]>([])
        let failuresLeft = Mutex(1)
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let data = Data(buffer: try await request.body.collect(upTo: 1 << 20))
            let fail = failuresLeft.withLock { left in
                defer { left -= 1 }
                return left > 0
            }
            if fail { return Response(status: .internalServerError) }
            let secret = request.headers[HTTPField.Name("X-Telegram-Bot-Api-Secret-Token")!]
            received.withLock { $0.append((secret, data)) }
            return Response(status: .ok)
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestEngine.logger)
        try await receiver.test(.live) { hook in
            try await withTestApp(.sqlite, bots: BotSettings(webhooksToPrivateNetworks: true)) { api, services in
                let alice = try await api.register(username: "alice_1")
                let bot = try await Self.makeBot(api, alice, "hook_bot")
                let chat = try await Self.directChat(api, alice, with: bot)
                let url = "http://127.0.0.1:\(hook.port!)/hook"
                let badSecret = try await Self.call(api, bot.token, "setWebhook", ["url": url, "secret_token": "not allowed!"])
                #expect(badSecret.status == .badRequest)
                #expect(try await Self.call(api, bot.token, "setWebhook", ["url": url, "secret_token": "s3cret_token"]).status == .ok)
                let polling = try await Self.call(api, bot.token, "getUpdates")
                #expect(polling.status == .conflict)
                let delivery = Task {
                    try await BotWebhookDelivery(bots: services.bots, methods: services.botAPIMethods, logger: TestEngine.logger).run()
                }
                defer { delivery.cancel() }
                _ = try await api.post(alice, to: chat, "first")
                _ = try await api.post(alice, to: chat, "second")
                try await waitUntil("both updates, in order, after one failure", seconds: 20) { received.withLock { $0.count } >= 2 }
                let got = received.withLock { $0 }
                #expect(got.allSatisfy { $0.secret == "s3cret_token" })
                let texts = got.map { delivered -> String? in
                    let update = (try? JSONSerialization.jsonObject(with: delivered.body)) as? [String: Any]
                    return (update?["message"] as? [String: Any])?["text"] as? String
                }
                #expect(texts == ["first", "second"])
                // The receiver has the second update before the sender hears its 200 and confirms it.
                var info: [String: Any] = [:]
                try await waitUntil("the delivered updates confirmed", seconds: 20) {
                    info = try #require(try Self.result(try await Self.call(api, bot.token, "getWebhookInfo")) as? [String: Any])
                    return info["pending_update_count"] as? Int == 0
                }
                #expect(info["url"] as? String == url)
                #expect(info["pending_update_count"] as? Int == 0)
                // Without the setting, a webhook into this server's own network is refused.
                #expect(try await Self.call(api, bot.token, "deleteWebhook").status == .ok)
                #expect(try await Self.call(api, bot.token, "getUpdates").status == .ok)
            }
        }
    }

    @Test
    func webhooksIntoPrivateNetworksAreRefusedByDefault() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "hook_bot")
            for url in ["http://127.0.0.1:8080/x", "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest", "ftp://example.com/x"] {
                let response = try await Self.call(api, bot.token, "setWebhook", ["url": url])
                #expect(response.status == .badRequest, "\(url)")
            }
        }
    }


    @Test
    func hostileArgumentsGetTheEnvelopeNotACrash() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            let lowest = try await Self.call(api, bot.token, "sendMessage", ["chat_id": "-9223372036854775808", "text": "x"])
            #expect(lowest.status == .badRequest)
            let huge = try await api.send(.post, "/bot\(bot.token)/sendMessage", body: #"{"chat_id":1e20,"text":1e20}"#)
            #expect(huge.status == .badRequest)
            // A body built to repeat the boundary's first bytes: answered at once, not after a
            // search that grows with the square of its length.
            let boundary = String(repeating: "-", count: 200)
            let body = "x" + String(repeating: String(repeating: "-", count: 201) + "x", count: 2000)
            let started = ContinuousClock.now
            let parsed = try await api.client.executeRequest(
                uri: "/bot\(bot.token)/sendMessage", method: .post,
                headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], body: ByteBuffer(string: body)
            )
            #expect(parsed.status == .badRequest)
            #expect(ContinuousClock.now - started < .seconds(5))
            // JSON nested deep, many times over: refused before it is read (decoding cost grew
            // with the cube of the depth).
            let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
            let nested = "{" + (0..<16).map { #""k\#($0)":\#(deep)"# }.joined(separator: ",") + "}"
            let deepStarted = ContinuousClock.now
            let refused = try await api.send(.post, "/bot\(bot.token)/getMe", body: nested)
            #expect(refused.status == .badRequest)
            #expect(ContinuousClock.now - deepStarted < .seconds(5))
        }
    }

    @Test(arguments: TestEngine.all)
    func photosGoBothWaysAsTheLibrariesSendThem(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "photo_bot")
            let chat = try await Self.directChat(api, alice, with: bot)
            _ = try await api.post(alice, to: chat, "a photo, please")
            let message = try #require(try await Self.updates(api, bot).first?["message"] as? [String: Any])
            let chatID = try #require(((message["chat"] as? [String: Any])?["id"] as? NSNumber)?.int64Value)
            // aiogram names the file part apart: photo=attach://<name>.
            let (status, result) = try await Self.upload(
                api, bot, "sendPhoto", fields: ["chat_id": "\(chatID)", "photo": "attach://f1"],
                file: (field: "f1", name: "p.png", bytes: MediaFixtures.png(width: 64, height: 48))
            )
            #expect(status == .ok)
            let largest = try #require((result["photo"] as? [[String: Any]])?.last)
            #expect(largest["width"] as? Int == 64)
            let history = try await api.history(alice, chat)
            #expect((history["messages"] as? [[String: Any]])?.first?["message_type"] as? String == "image")
            // getFile, then the download, with the token's colon percent-encoded as python-telegram-bot does.
            let file = try #require(try Self.result(try await Self.call(api, bot.token, "getFile", ["file_id": largest["file_id"]])) as? [String: Any])
            let path = try #require(file["file_path"] as? String)
            let encoded = bot.token.replacingOccurrences(of: ":", with: "%3A")
            let download = try await api.client.executeRequest(uri: "/file/bot\(encoded)/\(path)", method: .get, headers: [:], body: nil)
            #expect(download.status == .ok)
            #expect(download.body.readableBytes == (file["file_size"] as? Int))
            // Another bot, not in the chat, may not fetch it.
            let other = try await Self.makeBot(api, alice, "other_bot")
            #expect(try await Self.call(api, other.token, "getFile", ["file_id": largest["file_id"]]).status == .badRequest)
            let stolen = try await api.client.executeRequest(uri: "/file/bot\(other.token)/\(path)", method: .get, headers: [:], body: nil)
            #expect(stolen.status == .notFound)
        }
    }

    @Test
    func aNewTokenEndsWhatTheOldOneSetUp() async throws {
        try await withTestApp(.sqlite, bots: BotSettings(webhooksToPrivateNetworks: true)) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "echo_bot")
            async let waiting = Self.call(api, bot.token, "getUpdates", ["timeout": 20])
            try await Task.sleep(for: .milliseconds(300))
            let rekeyed = try await api.send(.post, "/api/v1/bots/\(bot.id)/token", token: alice.token)
            #expect(try await waiting.status == .conflict)
            let newToken = try rekeyed.string("token")
            #expect(try await Self.call(api, newToken, "setWebhook", ["url": "http://127.0.0.1:9/hook"]).status == .ok)
            _ = try await api.send(.post, "/api/v1/bots/\(bot.id)/token", token: alice.token)
            let info = try await api.send(.post, "/api/v1/bots/\(bot.id)/token", token: alice.token)
            let latest = try info.string("token")
            let webhook = try #require(try Self.result(try await Self.call(api, latest, "getWebhookInfo")) as? [String: Any])
            #expect(webhook["url"] as? String == "")
        }
    }

    @Test
    func webhooksDoNotFollowRedirects() async throws {
        let internalHits = Mutex(0)
        let router = Router()
        router.post("hook") { _, _ -> Response in
            Response(status: .temporaryRedirect, headers: [.location: "/internal"])
        }
        router.on("internal", method: .post) { _, _ -> Response in
            internalHits.withLock { $0 += 1 }
            return Response(status: .ok)
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestEngine.logger)
        try await receiver.test(.live) { hook in
            try await withTestApp(.sqlite, bots: BotSettings(webhooksToPrivateNetworks: true)) { api, services in
                let alice = try await api.register(username: "alice_1")
                let bot = try await Self.makeBot(api, alice, "hook_bot")
                let chat = try await Self.directChat(api, alice, with: bot)
                #expect(try await Self.call(api, bot.token, "setWebhook", ["url": "http://127.0.0.1:\(hook.port!)/hook"]).status == .ok)
                let delivery = Task {
                    try await BotWebhookDelivery(bots: services.bots, methods: services.botAPIMethods, logger: TestEngine.logger).run()
                }
                defer { delivery.cancel() }
                _ = try await api.post(alice, to: chat, "hello")
                try await waitUntil("the failure noted") {
                    let info = try Self.result(try await Self.call(api, bot.token, "getWebhookInfo")) as? [String: Any]
                    return (info?["last_error_message"] as? String)?.contains("307") == true
                }
                #expect(internalHits.withLock { $0 } == 0)
            }
        }
    }

    @Test
    func onlyPublicAddressesTakeWebhooks() {
        func address(_ bytes: [UInt8]) -> NetworkAddress { NetworkAddress(text: "", bytes: bytes) }
        let refused: [[UInt8]] = [
            [127, 0, 0, 1], [10, 1, 2, 3], [172, 16, 0, 1], [192, 168, 1, 1], [169, 254, 169, 254], [100, 64, 0, 1], [0, 0, 0, 0],
            [192, 0, 2, 2], [198, 18, 0, 1], [192, 0, 0, 1], [224, 0, 0, 1], [255, 255, 255, 255],
            [UInt8](repeating: 0, count: 15) + [1],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1],
            [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1],
            [0x20, 0x02, 0x7f, 0, 0, 1] + [UInt8](repeating: 0, count: 10),
            [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 12),
            [0xfc, 0] + [UInt8](repeating: 0, count: 14), [0xfe, 0x80] + [UInt8](repeating: 0, count: 14),
        ]
        for bytes in refused { #expect(address(bytes).isPrivate, "\(bytes)") }
        #expect(!address([93, 184, 216, 34]).isPrivate)
        #expect(!address([0x2a, 0x00, 0x14, 0x50] + [UInt8](repeating: 1, count: 12)).isPrivate)
    }

    @Test
    func tokensNeverReachTheLog() {
        #expect(RequestLogMiddleware<AppRequestContext>.loggable("/bot123:secret/getMe") == "/bot<token>/getMe")
        #expect(RequestLogMiddleware<AppRequestContext>.loggable("/file/bot123:secret/media/x/y") == "/file/bot<token>/media/x/y")
        #expect(RequestLogMiddleware<AppRequestContext>.loggable("/api/v1/bots") == "/api/v1/bots")
        #expect(RequestLogMiddleware<AppRequestContext>.loggable("//bot123:secret/getMe") == "//bot<token>/getMe")
        #expect(RequestLogMiddleware<AppRequestContext>.loggable("/x/../bot123%3Asecret/getMe") == "/x/../bot<token>/getMe")
    }


    @Test
    func peopleCannotPassForBots() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let refused = try await api.send(.post, "/api/v1/auth/register", json: [
                "username": "official_support_bot", "phone": APIClient.phone(for: "official_support_bot"), "password": "correct horse battery",
            ])
            #expect(refused.status == .unprocessableContent)
            #expect(refused.errorField == "username")
            let alice = try await api.register(username: "alice_1")
            #expect(try await api.send(.patch, "/api/v1/users/me", json: ["username": "admin_bot"], token: alice.token).status == .unprocessableContent)
            #expect(try await api.send(.patch, "/api/v1/users/me", json: ["username": "alice_2"], token: alice.token).status == .ok)
        }
    }


    @Test
    func aBotsVoiceNoteGoesThroughTheMediaPipeline() async throws {
        let voice = try await MediaFixtures.ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"], ["-c:a", "libopus", "-b:a", "24k"], suffix: "ogg")
        try await withTestApp(.sqlite) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bot = try await Self.makeBot(api, alice, "voice_bot")
            let chat = try await Self.directChat(api, alice, with: bot)
            _ = try await api.post(alice, to: chat, "say something")
            let message = try #require(try await Self.updates(api, bot).first?["message"] as? [String: Any])
            let chatID = try #require(((message["chat"] as? [String: Any])?["id"] as? NSNumber)?.int64Value)
            let (status, result) = try await Self.upload(
                api, bot, "sendVoice", fields: ["chat_id": "\(chatID)"], file: (field: "voice", name: "note", bytes: voice)
            )
            #expect(status == .ok)
            let note = try #require(result["voice"] as? [String: Any])
            #expect((1...3).contains(note["duration"] as? Int ?? 0))
            #expect(note["mime_type"] as? String == "audio/ogg")
            let history = try await api.history(alice, chat)
            #expect((history["messages"] as? [[String: Any]])?.first?["message_type"] as? String == "audio")
        }
    }

    @Test
    func idsAreStableAndFitInADouble() {
        let id = UUID()
        let number = BotStore.candidateNumber(for: id, attempt: 0)
        #expect(number == BotStore.candidateNumber(for: id, attempt: 0))
        #expect(number != BotStore.candidateNumber(for: id, attempt: 1))
        #expect(number > 0 && number < 1 << 52)
    }

    @Test
    func commandEntitiesCountUTF16() {
        let entities = TelegramRenderer.commandEntities(in: "👋 /start now and /help@echo_bot, not a/b")
        #expect(entities == [.init(type: "bot_command", offset: 3, length: 6), .init(type: "bot_command", offset: 18, length: 14)])
    }
}

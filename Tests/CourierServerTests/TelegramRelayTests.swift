import CourierClient
import CourierServer
import CourierStore
import Foundation
import Testing
import AsyncHTTPClient
import NIOCore

@Suite("Hybrid delivery through Telegram")
struct TelegramRelayTests {
    static func settings(_ apiURL: String, webhookSecret: String? = nil) -> TelegramSettings {
        TelegramSettings(botToken: "123456:test-token", apiURL: apiURL, webhookSecret: webhookSecret, pollInterval: .milliseconds(50))
    }

    /// Links `user` to Telegram chat `chatID` through the deep link and `/start`, as a person would.
    static func link(_ client: CourierClient, _ user: SignedIn, chat chatID: Int64, bot: FakeBotAPIState) async throws {
        struct DeepLink: Decodable { let url: String }
        let deepLink: DeepLink = try await client.call(.POST, "/api/v1/telegram/link", token: user.token)
        #expect(deepLink.url.hasPrefix("https://t.me/courier_test_bot?start="))
        let token = try #require(deepLink.url.components(separatedBy: "start=").last)
        await bot.userSends("/start \(token)", fromChat: chatID)
        try await eventually("linked") {
            struct Link: Decodable { let linked: Bool }
            let link: Link = try await client.call(.GET, "/api/v1/telegram/link", token: user.token)
            return link.linked
        }
        try await eventually("the bot's confirmation") { await bot.sent(to: chatID).contains { $0.text.hasPrefix("Linked") } }
    }

    @Test(arguments: TestEngine.all)
    func anOfflineRecipientGetsOnlyAReferenceThatResolvesForMembers(engine: TestEngine) async throws {
        let bot = FakeBotAPIState()
        try await withFakeBotAPI(bot) { apiURL in
            try await withLiveServer(engine, telegram: Self.settings(apiURL)) { client, _ in
                let alice = try await client.signUp("alice_1")
                let bob = try await client.signUp("bob_12")
                let stranger = try await client.signUp("stranger")
                try await Self.link(client, alice, chat: 1001, bot: bot)
                let chat = try await client.createGroup(named: "Team", members: [alice.user.id], token: bob.token)
                let sent = try await client.send("Hello Alice", to: chat, token: bob.token)

                try await eventually("a notice to alice") { await bot.sent(to: 1001).contains { $0.text.contains("New message in Courier") } }
                let notice = try #require(await bot.sent(to: 1001).last { $0.text.contains("New message in Courier") })
                let url = try #require(notice.buttonURL)
                #expect(url.hasPrefix("https://courier.example/r/"))
                let reference = try #require(url.components(separatedBy: "/r/").last)

                let resolved: ChatMessage = try await client.call(.GET, "/api/v1/references/\(reference)", token: alice.token)
                #expect(resolved.id == sent.id)
                #expect(resolved.content == "Hello Alice")
                await #expect(throws: CourierAPIError.self) {
                    let _: ChatMessage = try await client.call(.GET, "/api/v1/references/\(reference)", token: stranger.token)
                }
                do {
                    let _: ChatMessage = try await client.call(.GET, "/api/v1/references/unknown-reference", token: alice.token)
                } catch let error as CourierAPIError {
                    #expect(error.status == 404)
                }
                // The sender is not notified about their own message.
                #expect(await bot.sent(to: 1002).isEmpty)

                struct Audit: Decodable { struct Entry: Decodable { let action: String }; let entries: [Entry] }
                let mine: Audit = try await client.call(.GET, "/api/v1/audit?limit=100", token: alice.token)
                #expect(mine.entries.contains { $0.action == "reference_resolved" })
                let theirs: Audit = try await client.call(.GET, "/api/v1/audit?limit=100", token: stranger.token)
                #expect(theirs.entries.contains { $0.action == "reference_denied" })

                // /stop unlinks.
                await bot.userSends("/stop", fromChat: 1001)
                try await eventually("unlinked") {
                    struct Link: Decodable { let linked: Bool }
                    let link: Link = try await client.call(.GET, "/api/v1/telegram/link", token: alice.token)
                    return !link.linked
                }
            }
        }
    }

    @Test func onlineRecipientsAreNotNotifiedUnlessTheyAskForAlways() async throws {
        let bot = FakeBotAPIState()
        try await withFakeBotAPI(bot) { apiURL in
            try await withLiveServer(.sqlite, telegram: Self.settings(apiURL)) { client, _ in
                let alice = try await client.signUp("alice_1")
                let bob = try await client.signUp("bob_12")
                try await Self.link(client, alice, chat: 1001, bot: bot)
                let chat = try await client.createGroup(named: "Team", members: [alice.user.id], token: bob.token)
                let device = await TestDevice(client, token: alice.token)
                try await device.ready()
                _ = try await client.send("while online", to: chat, token: bob.token)
                try await device.recorder.wait("delivered live") { $0.contains { $0.message?.content == "while online" } }
                try await Task.sleep(for: .milliseconds(400))
                #expect(await bot.sent(to: 1001).filter { $0.text.contains("message") && !$0.text.hasPrefix("Linked") }.isEmpty)

                struct Link: Decodable { let relay_mode: String? }
                let always: Link = try await client.call(.PATCH, "/api/v1/telegram/link", body: ["relay_mode": "always"], token: alice.token)
                #expect(always.relay_mode == "always")
                _ = try await client.send("always relayed", to: chat, token: bob.token)
                try await eventually("notice while online") { await bot.sent(to: 1001).contains { $0.text.contains("New message in Courier") } }
                await device.stop()
            }
        }
    }

    @Test func noticesAreCoalescedAndRetriedAfter429() async throws {
        let bot = FakeBotAPIState()
        try await withFakeBotAPI(bot) { apiURL in
            var settings = Self.settings(apiURL)
            settings.perChatInterval = .seconds(2)
            try await withLiveServer(.sqlite, telegram: settings) { client, services in
                let alice = try await client.signUp("alice_1")
                let bob = try await client.signUp("bob_12")
                try await Self.link(client, alice, chat: 1001, bot: bot)
                let chat = try await client.createGroup(named: "Team", members: [alice.user.id], token: bob.token)
                await bot.failNextSends([(429, #"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#)])
                for index in 1...4 { _ = try await client.send("m\(index)", to: chat, token: bob.token) }

                try await eventually("all references sent", seconds: 15) {
                    let statistics = try await services.store.telegram.statistics()
                    return statistics.byStatus["sent"] == 4 && statistics.byStatus["pending"] == nil
                }
                let notices = await bot.sent(to: 1001).map(\.text).filter { !$0.hasPrefix("Linked") }
                #expect(notices.count < 4, "coalesced: \(notices)")
                #expect(notices.contains { $0.contains("new messages in Courier") })
                let retried = try await services.store.engine.read { sql in
                    try await sql.raw("SELECT MAX(attempts) AS n FROM message_references").first()?.decode(column: "n", as: Int.self)
                }
                #expect(retried == 2)
            }
        }
    }

    @Test func clientsCanTellWhetherTheServerHasABot() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let link = try await api.send(.get, "/api/v1/telegram/link", token: alice.token)
            #expect(link.status == .ok)
            #expect(link["enabled"] as? Bool == false && link["linked"] as? Bool == false)
        }
    }

    @Test func theWebhookNeedsItsSecret() async throws {
        let bot = FakeBotAPIState()
        try await withFakeBotAPI(bot) { apiURL in
            try await withLiveServer(.sqlite, telegram: Self.settings(apiURL, webhookSecret: "hook-secret_1")) { client, _ in
                let alice = try await client.signUp("alice_1")
                struct DeepLink: Decodable { let url: String }
                let deepLink: DeepLink = try await client.call(.POST, "/api/v1/telegram/link", token: alice.token)
                let token = try #require(deepLink.url.components(separatedBy: "start=").last)
                let update = #"{"update_id":1,"message":{"message_id":1,"chat":{"id":2001,"type":"private"},"text":"/start \#(token)"}}"#
                try await eventually("webhook registered") {
                    await bot.requests.contains { $0.method == "setWebhook" && $0.body.contains("courier.example\\/telegram\\/webhook") && $0.body.contains("hook-secret_1") }
                }
                #expect(await Self.webhook(client, body: update, secret: nil) == 401)
                #expect(await Self.webhook(client, body: update, secret: "wrong") == 401)
                struct Link: Decodable { let linked: Bool; let enabled: Bool }
                let before: Link = try await client.call(.GET, "/api/v1/telegram/link", token: alice.token)
                #expect(!before.linked && before.enabled)
                #expect(await Self.webhook(client, body: update, secret: "hook-secret_1") == 200)
                let after: Link = try await client.call(.GET, "/api/v1/telegram/link", token: alice.token)
                #expect(after.linked)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func queuedNoticesSurviveARestart(engine: TestEngine) async throws {
        let bot = FakeBotAPIState()
        try await withFakeBotAPI(bot) { apiURL in
            try await engine.withStore { store in
                // First run: Telegram answers 502 to every send, so the notice stays queued however
                // many retries fit in the run.
                let (alice, _) = try await runCourier(store: store, telegram: Self.settings(apiURL)) { client, services in
                    let alice = try await client.signUp("alice_1")
                    let bob = try await client.signUp("bob_12")
                    try await Self.link(client, alice, chat: 1001, bot: bot)
                    await bot.failNextSends(Array(repeating: (502, #"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#), count: 1000))
                    let chat = try await client.createGroup(named: "Team", members: [alice.user.id], token: bob.token)
                    _ = try await client.send("before the restart", to: chat, token: bob.token)
                    try await eventually("a failed attempt") {
                        try await services.store.telegram.statistics().lastError?.contains("502") == true
                    }
                    return (alice, bob)
                }
                #expect(try await store.telegram.statistics().byStatus["pending"] == 1)
                let refused = await bot.sent(to: 1001).filter { $0.text.contains("New message in Courier") }.count
                await bot.stopFailingSends()
                // Second run: the same job goes out, once.
                try await runCourier(store: store, telegram: Self.settings(apiURL)) { _, services in
                    try await eventually("sent after the restart", seconds: 15) {
                        try await services.store.telegram.statistics().byStatus["sent"] == 1
                    }
                }
                let notices = await bot.sent(to: 1001).filter { $0.text.contains("New message in Courier") }
                let log = await bot.requests.map { "\($0.method) \($0.status) \($0.body.prefix(120))" }
                #expect(notices.filter(\.delivered).count == 1, "delivered once: \(log)")
                #expect(notices.count == refused + 1, "refused with 502 while the first run lasted, then one delivered")
                #expect(refused >= 1)
                _ = alice
            }
        }
    }

    /// Content, sender username, chat name and file name are random canaries: none may reach Telegram.
    @Test(arguments: TestEngine.all)
    func nothingButTheReferenceReachesTelegram(engine: TestEngine) async throws {
        let bot = FakeBotAPIState()
        let canaries = (0..<7).map { _ in "canary" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased() }
        try await withFakeBotAPI(bot) { apiURL in
            try await withLiveServer(engine, telegram: Self.settings(apiURL)) { client, _ in
                let alice = try await client.signUp("alice_1")
                let sender = try await client.signUp(String(canaries[1].prefix(20)))
                try await Self.link(client, alice, chat: 1001, bot: bot)
                let chat = try await client.createGroup(named: "Chat \(canaries[2])", members: [alice.user.id], token: sender.token)
                _ = try await client.send("secret \(canaries[0])", to: chat, token: sender.token)
                struct Sent: Decodable { let id: String }
                let _: Sent = try await client.call(.POST, "/api/v1/messages", body: [
                    "chat_id": chat, "content": "a file", "message_type": "file", "media_url": "https://files.example/\(canaries[3]).pdf",
                ], token: sender.token)
                // A real attachment: canaries in its bytes, its file name and its caption.
                let media = try await Self.upload(Array("bytes \(canaries[4]) bytes".utf8), named: "\(canaries[5]).txt", client: client, token: sender.token)
                struct WithMedia: Encodable, Sendable { let chat_id: String; let content: String; let attachments: [String] }
                let _: Sent = try await client.call(
                    .POST, "/api/v1/messages", body: WithMedia(chat_id: chat, content: "caption \(canaries[6])", attachments: [media]), token: sender.token
                )
                try await eventually("notices sent") { await bot.sent(to: 1001).count >= 3 }
                #expect(await bot.sent(to: 1001).contains { $0.text.hasPrefix("New file in Courier") || $0.text.contains("new messages in Courier") })
                try await Task.sleep(for: .milliseconds(300))
                for request in await bot.requests {
                    for canary in canaries {
                        #expect(!request.body.contains(canary) && !request.url.contains(canary), "\(canary) leaked in \(request.method)")
                    }
                }
            }
        }
    }

    /// Uploads `bytes` as a file over HTTP and returns the media id.
    static func upload(_ bytes: [UInt8], named name: String, client: CourierClient, token: String) async throws -> String {
        struct Upload: Decodable { let id: String }
        struct NewUpload: Encodable, Sendable { let size: Int; let mime_type: String; let file_name: String; let sha256: String }
        let upload: Upload = try await client.call(
            .POST, "/api/v1/uploads", body: NewUpload(size: bytes.count, mime_type: "text/plain", file_name: name, sha256: MediaFixtures.sha256(bytes)),
            token: token
        )
        let part = try await Live.call(client, .PATCH, "/api/v1/uploads/\(upload.id)", bytes: bytes, headers: [
            "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
        ], token: token)
        #expect(part.status == 204)
        let _: Upload = try await client.call(.POST, "/api/v1/uploads/\(upload.id)/complete", token: token)
        return upload.id
    }

    @Test func administratorsSeeTheQueueAndRegisterExternalReferences() async throws {
        let bot = FakeBotAPIState()
        try await withFakeBotAPI(bot) { apiURL in
            try await withLiveServer(.sqlite, telegram: Self.settings(apiURL)) { client, services in
                let admin = try await client.signUp("admin_1")
                let alice = try await client.signUp("alice_1")
                _ = try await services.store.users.setServerAdmin(try .init("admin_1"), true)
                let chat = try await client.createGroup(named: "Team", members: [], token: alice.token)
                let message = try await client.send("registered elsewhere", to: chat, token: alice.token)

                struct Registered: Decodable { let reference: String; let url: String }
                let body = ["telegram_id": "555:77", "local_message_id": message.id, "type": "text"]
                await #expect(throws: CourierAPIError.self) {
                    let _: Registered = try await client.call(.POST, "/api/v1/references", body: body, token: alice.token)
                }
                let registered: Registered = try await client.call(.POST, "/api/v1/references", body: body, token: admin.token)
                #expect(registered.url.hasSuffix("/r/\(registered.reference)"))
                let resolved: ChatMessage = try await client.call(.GET, "/api/v1/references/\(registered.reference)", token: alice.token)
                #expect(resolved.content == "registered elsewhere")

                struct Status: Decodable { let enabled: Bool; let sent: Int; let queue_length: Int }
                await #expect(throws: CourierAPIError.self) {
                    let _: Status = try await client.call(.GET, "/api/v1/telegram/status", token: alice.token)
                }
                let status: Status = try await client.call(.GET, "/api/v1/telegram/status", token: admin.token)
                #expect(status.enabled)
                #expect(status.sent == 1)
                #expect(status.queue_length == 0)
            }
        }
    }

    static func webhook(_ client: CourierClient, body: String, secret: String?) async -> Int? {
        var request = HTTPClientRequest(url: "\(client.baseURL)/telegram/webhook")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let secret { request.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: secret) }
        request.body = .bytes(ByteBuffer(string: body))
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)) else { return nil }
        return Int(response.status.code)
    }
}

/// Polls `condition` until it holds, failing after `seconds`.
func eventually(_ what: String, seconds: Double = 10, _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(25))
    }
}

import CourierClient
import CourierCore
import CourierServer
import CourierStore
import Foundation
import Testing

/// A person's own arrangement of their chat list (pinned, muted, archived), drafts and mentions,
/// each synced to their other devices through their own update log.
@Suite("Chat list: pins, mute, archive, drafts, mentions")
struct ChatListSettingsTests {
    static func settings(_ api: APIClient, _ user: SignedInUser, _ chat: String, _ body: [String: Any]) async throws -> APIResponse {
        try await api.send(.patch, "/api/v1/chats/\(chat)/settings", json: body, token: user.token)
    }

    static func listed(_ api: APIClient, _ user: SignedInUser) async throws -> [[String: Any]] {
        try await api.send(.get, "/api/v1/chats", token: user.token)["chats"] as? [[String: Any]] ?? []
    }

    @Test(arguments: TestEngine.all)
    func pinnedChatsComeFirstMutedAndArchivedAreKeptAndSynced(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let older = try await api.createGroup(alice, name: "Older", members: [bob])
            try await api.post(alice, to: older, "first")
            try await Task.sleep(for: .milliseconds(3))
            let newer = try await api.createGroup(alice, name: "Newer", members: [bob])
            try await api.post(alice, to: newer, "second")
            let held = try await SyncTests.positions(api, alice)
            #expect(try await Self.listed(api, alice).compactMap { $0["id"] as? String } == [newer, older])

            #expect(try await Self.settings(api, alice, older, ["pinned": true]).status == .ok)
            #expect(try await Self.listed(api, alice).compactMap { $0["id"] as? String } == [older, newer])
            // Bob's list is his own.
            #expect(try await Self.listed(api, bob).compactMap { $0["id"] as? String } == [newer, older])

            let muted = try await Self.settings(api, alice, newer, ["mute": "1h", "archived": true])
            let until = try #require(muted["muted_until"] as? String)
            #expect(until > ISO8601DateFormatter().string(from: Date().addingTimeInterval(3500)))
            #expect(muted["archived"] as? Bool == true)
            let forever = try await Self.settings(api, alice, newer, ["mute": "forever"])
            #expect((forever["muted_until"] as? String)?.hasPrefix("9999") == true)
            let row = try #require(try await Self.listed(api, alice).first { $0["id"] as? String == newer })
            #expect(row["archived"] as? Bool == true && (row["muted_until"] as? String)?.hasPrefix("9999") == true)
            #expect(try await Self.settings(api, alice, newer, ["mute": "off", "archived": false])["muted_until"] == nil)

            // Another device of Alice's catches each change up, with the settings as they became.
            let caught = try await SyncTests.updates(api, alice, account: held.account, chats: held.chats)
            let changes = caught.updates.filter { $0["type"] as? String == "chat_settings_changed" }
            #expect(changes.count == 4)
            #expect(changes.first?["chat_id"] as? String == older && changes.first?["pinned_at"] != nil)
            #expect(changes.last?["archived"] as? Bool == false && changes.last?["muted_until"] == nil)

            // Wrong values, strangers, and the eleventh pin.
            #expect(try await Self.settings(api, alice, newer, ["mute": "2h"]).status == .unprocessableContent)
            #expect(try await Self.settings(api, alice, newer, ["pinned": "yes"]).status == .badRequest)
            let stranger = try await api.register(username: "mallory")
            #expect(try await Self.settings(api, stranger, newer, ["pinned": true]).status == .notFound)
            for number in 0..<9 {
                let chat = try await api.createGroup(alice, name: "Pinned \(number)")
                #expect(try await Self.settings(api, alice, chat, ["pinned": true]).status == .ok)
            }
            let eleventh = try await Self.settings(api, alice, newer, ["pinned": true])
            #expect(eleventh.status == .conflict && eleventh.errorCode == "too_many_pinned_chats")
        }
    }

    @Test(arguments: TestEngine.all)
    func draftsFollowThePersonAndAreSealedAtRest(engine: TestEngine) async throws {
        let canary = "draft-canary-" + UUID().uuidString
        try await engine.withDatabase { store, location in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                let chat = try await api.createGroup(alice)
                let held = try await SyncTests.positions(api, alice)
                #expect(try await api.send(.put, "/api/v1/chats/\(chat)/draft", json: ["text": "half a thought \(canary)"], token: alice.token).status == .noContent)
                #expect(try await api.send(.get, "/api/v1/chats/\(chat)", token: alice.token)["draft"] as? String == "half a thought \(canary)")
                let caught = try await SyncTests.updates(api, alice, account: held.account, chats: held.chats)
                #expect(caught.types.contains("draft_changed"))
                #expect(try await api.send(.put, "/api/v1/chats/\(chat)/draft", json: ["text": String(repeating: "x", count: 4097)], token: alice.token).status == .unprocessableContent)
                let stranger = try await api.register(username: "mallory")
                #expect(try await api.send(.put, "/api/v1/chats/\(chat)/draft", json: ["text": "x"], token: stranger.token).status == .notFound)
                // A chat that does not exist: 404, not a key made for it (the API fuzzer found a 500).
                #expect(try await api.send(.put, "/api/v1/chats/\(UUID().uuidString)/draft", json: ["text": "x"], token: alice.token).status == .notFound)
            }
            let raw = try await EncryptionTests.rawDatabase(store, location)
            #expect(raw.range(of: Data(canary.utf8)) == nil, "the draft is stored in clear")
            try await EncryptionTests.withApp(store) { api in
                // Sending clears nothing by itself: an empty draft does.
                let alice = try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery"])
                let token = try alice.string("token")
                let chats = try await api.send(.get, "/api/v1/chats", token: token)["chats"] as? [[String: Any]] ?? []
                let chat = try #require(chats.first?["id"] as? String)
                #expect(try await api.send(.put, "/api/v1/chats/\(chat)/draft", json: ["text": ""], token: token).status == .noContent)
                #expect(try await api.send(.get, "/api/v1/chats/\(chat)", token: token)["draft"] == nil)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func aMentionOfAMemberCountsUntilRead(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let chat = try await api.createGroup(alice, members: [bob])
            try await api.post(alice, to: chat, "no mention here, bob_12")
            let mention = try await api.send(.post, "/api/v1/messages", json: ["chat_id": chat, "content": "@BOB_12 and @carol_1 and @alice_1, look"], token: alice.token)
            let seq = try #require(mention["seq"] as? Int)
            let bobs = try #require(try await Self.listed(api, bob).first)
            #expect(bobs["unread_mentions"] as? Int == 1 && bobs["first_unread_mention_seq"] as? Int == seq)
            // Carol is not in the chat; Alice mentioned herself: neither counts.
            #expect(try await Self.listed(api, carol).isEmpty)
            #expect(try await Self.listed(api, alice).first?["unread_mentions"] as? Int == 0)
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": seq], token: bob.token).status == .ok)
            #expect(try await Self.listed(api, bob).first?["unread_mentions"] as? Int == 0)
            // A read mention is not kept: the table only holds what still counts.
            let kept = try await services.store.engine.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM message_mentions").first()?.decode(column: "n", as: Int.self)
            }
            #expect(kept == 0)
            // An edit that adds a mention makes it count; one that takes it out, no longer.
            let later = try await api.post(alice, to: chat, "lunch?")
            #expect(try await api.send(.patch, "/api/v1/messages/\(later)", json: ["content": "lunch, @bob_12?"], token: alice.token).status == .ok)
            #expect(try await Self.listed(api, bob).first?["unread_mentions"] as? Int == 1)
            #expect(try await api.send(.patch, "/api/v1/messages/\(later)", json: ["content": "lunch?"], token: alice.token).status == .ok)
            #expect(try await Self.listed(api, bob).first?["unread_mentions"] as? Int == 0)
        }
    }

    @Test(arguments: TestEngine.all)
    func aMutedChatKeepsTheTelegramRelayQuiet(engine: TestEngine) async throws {
        let bot = FakeBotAPIState()
        try await withFakeBotAPI(bot) { apiURL in
            try await withLiveServer(engine, telegram: TelegramRelayTests.settings(apiURL)) { client, _ in
                let alice = try await client.signUp("alice_1")
                let bob = try await client.signUp("bob_12")
                try await TelegramRelayTests.link(client, alice, chat: 1001, bot: bot)
                let noisy = try await client.createGroup(named: "Noisy", members: [alice.user.id], token: bob.token)
                let quiet = try await client.createGroup(named: "Quiet", members: [alice.user.id], token: bob.token)
                struct Settings: Decodable { let archived: Bool }
                let _: Settings = try await client.call(.PATCH, "/api/v1/chats/\(quiet)/settings", body: ["mute": "forever"], token: alice.token)
                _ = try await client.send("shh", to: quiet, token: bob.token)
                _ = try await client.send("hello", to: noisy, token: bob.token)
                try await eventually("a notice for the chat not muted") { await bot.sent(to: 1001).filter { $0.text.contains("New message") }.count == 1 }
                try await Task.sleep(for: .milliseconds(500))
                #expect(await bot.sent(to: 1001).filter { $0.text.contains("New message") }.count == 1)
            }
        }
    }
}

import CourierClient
import CourierCore
import CourierServer
import CourierStore
import Foundation
import Testing

/// Reactions (one emoji per person per message, counts and who; counts only in channels) and
/// pinned messages (admins in groups and channels, either side in DMs), live and caught up.
@Suite("Reactions and pins")
struct ReactionAndPinTests {
    static func react(_ api: APIClient, _ user: SignedInUser, _ message: String, _ emoji: String?) async throws -> APIResponse {
        if let emoji { return try await api.send(.put, "/api/v1/messages/\(message)/reaction", json: ["emoji": emoji], token: user.token) }
        return try await api.send(.delete, "/api/v1/messages/\(message)/reaction", token: user.token)
    }

    static func reactions(of response: APIResponse) -> [[String: Any]] { response["reactions"] as? [[String: Any]] ?? [] }

    static func summary(_ reactions: [[String: Any]]) -> [String] {
        reactions.map { "\($0["emoji"] as? String ?? "?")\($0["count"] as? Int ?? -1)" }
    }

    @Test(arguments: TestEngine.all)
    func oneReactionPerPersonCountedWithWhoAndCaughtUp(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let chat = try await api.createGroup(alice, members: [bob, carol])
            let message = try await api.post(alice, to: chat, "lunch?")
            let held = try await SyncTests.positions(api, carol)

            var answer = try await Self.react(api, bob, message, "👍")
            #expect(answer.status == .ok)
            #expect(answer["my_reaction"] as? String == "👍")
            answer = try await Self.react(api, alice, message, "👍")
            answer = try await Self.react(api, carol, message, "❤️")
            #expect(Self.summary(Self.reactions(of: answer)) == ["👍2", "❤️1"])
            #expect((Self.reactions(of: answer).first?["user_ids"] as? [String]) == [bob.id, alice.id])
            // A second reaction replaces the first; the same one again changes nothing; taking it back removes it.
            answer = try await Self.react(api, bob, message, "🎉")
            #expect(Self.summary(Self.reactions(of: answer)) == ["👍1", "❤️1", "🎉1"])
            #expect(try await Self.react(api, bob, message, "🎉").status == .ok)
            answer = try await Self.react(api, carol, message, nil)
            #expect(Self.summary(Self.reactions(of: answer)) == ["👍1", "🎉1"])
            #expect(answer["my_reaction"] == nil)

            // History shows the counts, and each reader's own.
            let page = try await api.history(bob, chat)
            #expect(Self.summary(page.messages.first?["reactions"] as? [[String: Any]] ?? []) == ["👍1", "🎉1"])
            #expect(page.messages.first?["my_reaction"] as? String == "🎉")
            // Beside a message without any, each keeps its own.
            let plain = try await api.post(alice, to: chat, "no reactions here")
            let mixed = try await api.history(bob, chat, query: "?limit=5")
            #expect(mixed.messages.map { $0["id"] as? String } == [plain, message])
            #expect((mixed.messages[0]["reactions"] as? [[String: Any]])?.isEmpty == true)
            #expect(mixed.messages[0]["my_reaction"] == nil)
            #expect(Self.summary(mixed.messages[1]["reactions"] as? [[String: Any]] ?? []) == ["👍1", "🎉1"])
            #expect(mixed.messages[1]["my_reaction"] as? String == "🎉")

            // Carol's device, offline meanwhile, catches up each change in order.
            let caught = try await SyncTests.updates(api, carol, account: held.account, chats: held.chats)
            let changes = caught.updates.filter { $0["type"] as? String == "reaction_changed" }
            #expect(changes.count == 5)
            #expect(changes.map { $0["emoji"] as? String ?? "-" } == ["👍", "👍", "❤️", "🎉", "-"])
            #expect(changes.map { $0["user_id"] as? String } == [bob.id, alice.id, carol.id, bob.id, carol.id])
            #expect(Self.summary(changes.last?["reactions"] as? [[String: Any]] ?? []) == ["👍1", "🎉1"])

            // Not an emoji, several, or nothing: 422; a stranger: 404; a deleted message loses them.
            for bad in ["a", "1", "👍👍", "", "😀x", String(repeating: "x", count: 100)] {
                #expect(try await Self.react(api, bob, message, bad).status == .unprocessableContent, "\(bad)")
            }
            let stranger = try await api.register(username: "mallory")
            #expect(try await Self.react(api, stranger, message, "👍").status == .notFound)
            #expect(try await api.send(.delete, "/api/v1/messages/\(message)?for=everyone", token: alice.token).status == .noContent)
            #expect(try await Self.react(api, bob, message, "👍").status == .notFound)
            let deleted = try await api.history(bob, chat).messages.first { $0["id"] as? String == message }
            #expect((deleted?["reactions"] as? [[String: Any]])?.isEmpty == true)
        }
    }

    @Test(arguments: TestEngine.all)
    func channelReactionsAreCountsOnly(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let channel = try await api.createChannel(alice, username: "news_react")
            for reader in [bob, carol] {
                #expect(try await api.send(.post, "/api/v1/channels/\(channel)/subscribe", token: reader.token).status.code < 300)
            }
            let post = try await api.send(.post, "/api/v1/channels/\(channel)/posts", json: ["content": "Version nine is out"], token: alice.token)
            let message = try post.string("id")
            let carolHeld = try await SyncTests.positions(api, carol)
            let bobHeld = try await SyncTests.positions(api, bob)

            let answer = try await Self.react(api, bob, message, "🔥")
            #expect(Self.summary(Self.reactions(of: answer)) == ["🔥1"])
            #expect((Self.reactions(of: answer).first?["user_ids"] as? [String]) == [])
            #expect(answer["my_reaction"] as? String == "🔥")
            // Carol learns the count, not who; Bob's own devices learn it was him.
            let carols = try await SyncTests.updates(api, carol, account: carolHeld.account, chats: carolHeld.chats)
                .updates.filter { $0["type"] as? String == "reaction_changed" }
            #expect(carols.count == 1 && carols[0]["user_id"] == nil)
            #expect((carols[0]["reactions"] as? [[String: Any]])?.first?["user_ids"] as? [String] == [])
            let bobs = try await SyncTests.updates(api, bob, account: bobHeld.account, chats: bobHeld.chats)
                .updates.filter { $0["type"] as? String == "reaction_changed" }
            #expect(bobs.first?["user_id"] as? String == bob.id)
            let posts = try await api.send(.get, "/api/v1/channels/\(channel)/posts", token: carol.token)
            #expect((posts.messages.first?["reactions"] as? [[String: Any]])?.first?["user_ids"] as? [String] == [])
            let shown = try await api.send(.get, "/api/v1/messages/\(message)", token: carol.token)
            #expect(Self.summary(Self.reactions(of: shown)) == ["🔥1"] && Self.reactions(of: shown).first?["user_ids"] as? [String] == [])
            // Nor does an admin's edit answer name who reacted.
            let edited = try await api.send(.patch, "/api/v1/messages/\(message)", json: ["content": "Version nine is out!"], token: alice.token)
            #expect(Self.summary(Self.reactions(of: edited)) == ["🔥1"] && Self.reactions(of: edited).first?["user_ids"] as? [String] == [])
        }
    }

    @Test(arguments: TestEngine.all)
    func reactionsArriveLiveOnEveryMembersDevices(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_lr")
            let bob = try await client.signUp("bob_lr")
            let chat = try await client.createGroup(named: "Live", members: [bob.user.id], token: alice.token)
            let message = try await client.send("hello", to: chat, token: alice.token)
            let device = await TestDevice(client, token: alice.token)
            try await device.ready()
            let _: [String: JSONValue] = try await client.call(.PUT, "/api/v1/messages/\(message.id)/reaction", body: ["emoji": "😂"], token: bob.token)
            try await device.recorder.wait("reaction") { $0.contains { $0.type == "reaction_changed" } }
            let frame = try #require(await device.recorder.frames.first { $0.type == "reaction_changed" })
            #expect(frame.emoji == "😂" && frame.userID == bob.user.id && frame.messageID == message.id)
            #expect(frame.reactions?.map(\.emoji) == ["😂"] && frame.reactions?.first?.count == 1)
            #expect(frame.reactions?.first?.userIDs == [bob.user.id])
            await device.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func pinsByAdminsInGroupsEitherSideInDMsNewestFirst(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let group = try await api.createGroup(alice, members: [bob])
            let address = try await api.post(alice, to: group, "The address is 1 Main St")
            let time = try await api.post(bob, to: group, "Saturday 10:00")
            let held = try await SyncTests.positions(api, bob)

            #expect(try await api.send(.put, "/api/v1/messages/\(time)/pin", token: bob.token).status == .forbidden)
            #expect(try await api.send(.put, "/api/v1/messages/\(address)/pin", token: alice.token).status == .ok)
            try await Task.sleep(for: .milliseconds(3))
            #expect(try await api.send(.put, "/api/v1/messages/\(time)/pin", token: alice.token).status == .ok)
            #expect(try await api.send(.put, "/api/v1/messages/\(time)/pin", token: alice.token).status == .ok)
            var pins = try await api.send(.get, "/api/v1/chats/\(group)/pins", token: bob.token)
            #expect((pins["pins"] as? [[String: Any]])?.compactMap { ($0["message"] as? [String: Any])?["id"] as? String } == [time, address])
            let caught = try await SyncTests.updates(api, bob, account: held.account, chats: held.chats)
            #expect(caught.types.filter { $0.hasPrefix("message_") } == ["message_pinned", "message_pinned"])
            #expect(try await api.send(.delete, "/api/v1/messages/\(time)/pin", token: alice.token).status == .noContent)
            #expect(try await api.send(.delete, "/api/v1/messages/\(address)?for=everyone", token: alice.token).status == .noContent)
            pins = try await api.send(.get, "/api/v1/chats/\(group)/pins", token: bob.token)
            #expect((pins["pins"] as? [[String: Any]])?.isEmpty == true)

            // In a DM either side pins; strangers see nothing.
            let dm = try #require(try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": alice.id], token: bob.token)["id"] as? String)
            let note = try await api.post(alice, to: dm, "note to pin")
            #expect(try await api.send(.put, "/api/v1/messages/\(note)/pin", token: bob.token).status == .ok)
            let stranger = try await api.register(username: "mallory")
            #expect(try await api.send(.get, "/api/v1/chats/\(dm)/pins", token: stranger.token).status == .notFound)
            #expect(try await api.send(.put, "/api/v1/messages/\(note)/pin", token: stranger.token).status == .notFound)
        }
    }
}

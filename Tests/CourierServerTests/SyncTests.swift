import CourierClient
import CourierCore
import CourierRealtime
import CourierServer
import CourierStore
import Foundation
import Testing

/// The update log: every change a device missed, caught up in order, at most once, in pages.
@Suite("Update log and catch-up")
struct SyncTests {
    /// One page of `GET /api/v1/updates`.
    struct Page {
        let response: APIResponse
        var updates: [[String: Any]] { response["updates"] as? [[String: Any]] ?? [] }
        var types: [String] { updates.compactMap { $0["type"] as? String } }
        var accountPTS: Int64 { Int64(response["account_pts"] as? Int ?? -1) }
        func pts(of chat: String) -> Int64 { Int64((response["chats"] as? [String: Int])?[chat] ?? -1) }
        func list(_ key: String) -> [String] { response[key] as? [String] ?? [] }
        var more: Bool { response["more"] as? Bool ?? false }
    }

    static func updates(_ api: APIClient, _ user: SignedInUser, account: Int64?, chats: [String: Int64], limit: Int? = nil) async throws -> Page {
        var query: [String] = []
        if let account { query.append("account_pts=\(account)") }
        if !chats.isEmpty { query.append("chats=" + chats.map { "\($0.key):\($0.value)" }.joined(separator: ",")) }
        if let limit { query.append("limit=\(limit)") }
        return Page(response: try await api.send(.get, "/api/v1/updates?" + query.joined(separator: "&"), token: user.token))
    }

    /// The positions a device holds after loading the chat list now.
    static func positions(_ api: APIClient, _ user: SignedInUser) async throws -> (account: Int64, chats: [String: Int64]) {
        let list = try await api.send(.get, "/api/v1/chats", token: user.token)
        let chats = (list["chats"] as? [[String: Any]] ?? []).reduce(into: [String: Int64]()) { result, chat in
            result[chat["id"] as? String ?? ""] = Int64(chat["pts"] as? Int ?? 0)
        }
        return (Int64(list["account_pts"] as? Int ?? 0), chats)
    }

    @Test(arguments: TestEngine.all)
    func everyKindOfChangeIsCaughtUpInOrder(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let chat = try await api.createGroup(alice, members: [bob])
            let first = try await api.post(alice, to: chat, "first")
            let second = try await api.post(bob, to: chat, "second")
            // Bob's device goes away here.
            let held = try await Self.positions(api, bob)

            let third = try await api.post(alice, to: chat, "third")
            #expect(try await api.send(.patch, "/api/v1/messages/\(first)", json: ["content": "first, edited"], token: alice.token).status == .ok)
            #expect(try await api.send(.delete, "/api/v1/messages/\(third)?for=everyone", token: alice.token).status == .noContent)
            // Bob reads on another device of his: a read mark his devices follow too.
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": 3], token: bob.token).status == .ok)
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/members", json: ["user_ids": [carol.id]], token: alice.token).status == .ok)
            #expect(try await api.send(.patch, "/api/v1/chats/\(chat)", json: ["name": "Renamed"], token: alice.token).status == .ok)
            #expect(try await api.send(.patch, "/api/v1/chats/\(chat)/members/\(carol.id)", json: ["role": "admin"], token: alice.token).status == .ok)
            #expect(try await api.send(.delete, "/api/v1/chats/\(chat)/members/\(carol.id)", token: alice.token).status == .noContent)
            // On another device of Bob's: a deletion for him only, and a new DM.
            #expect(try await api.send(.delete, "/api/v1/messages/\(second)?for=me", token: bob.token).status == .noContent)
            let dm = try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": bob.id], token: carol.token)
            let dmID = try dm.string("id")

            let page = try await Self.updates(api, bob, account: held.account, chats: [chat: held.chats[chat] ?? 0])
            #expect(page.response.status == .ok)
            #expect(page.types == [
                "message_hidden", "chat_joined",
                "new_message", "message_edited", "message_deleted", "read", "member_added", "chat_updated", "role_changed", "member_removed",
            ])
            let byType = Dictionary(page.updates.map { ($0["type"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
            #expect((byType["message_edited"]?["message"] as? [String: Any])?["content"] as? String == "first, edited")
            // The message deleted for everyone is announced by its deletion; its new_message comes
            // as it is now, a tombstone.
            #expect((byType["new_message"]?["message"] as? [String: Any])?["content"] as? String == "")
            #expect(byType["read"]?["user_id"] as? String == bob.id)
            #expect(byType["chat_joined"]?["chat_id"] as? String == dmID)
            #expect(page.pts(of: chat) == (held.chats[chat] ?? 0) + 8)
            #expect(!page.more)
            // Positions run without gaps.
            let chatPositions = page.updates.filter { $0["chat_id"] as? String == chat && $0["account_pts"] == nil }.compactMap { $0["pts"] as? Int }
            #expect(chatPositions == Array(Int(held.chats[chat]! + 1)...Int(held.chats[chat]! + 8)))

            // Asking again from there: nothing more, nothing twice.
            let again = try await Self.updates(api, bob, account: page.accountPTS, chats: [chat: page.pts(of: chat)])
            #expect(again.updates.isEmpty)
            // Carol, removed, is told so by her own log, and her chat position is refused as gone.
            let carolsPage = try await Self.updates(api, carol, account: 0, chats: [chat: 0])
            #expect(carolsPage.types.contains("chat_left"))
            #expect(carolsPage.list("left") == [chat])
        }
    }

    @Test(arguments: TestEngine.all)
    func catchUpComesInBoundedPages(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(alice, members: [bob])
            let chatID = try #require(UUID(uuidString: chat))
            let senderID = try #require(UUID(uuidString: alice.id))
            try await services.store.messages.appendBulk((1...250).map { "message \($0)" }, to: chatID, from: senderID, at: .now())
            var position: Int64 = 0
            var seen: [Int] = []
            var pages = 0
            while true {
                let page = try await Self.updates(api, bob, account: nil, chats: [chat: position], limit: 100)
                pages += 1
                seen += page.updates.compactMap { ($0["message"] as? [String: Any])?["seq"] as? Int }
                position = page.pts(of: chat)
                if !page.more { break }
                #expect(page.updates.count == 100)
            }
            #expect(pages == 3)
            #expect(seen == Array(1...250))
            #expect(try await Self.updates(api, bob, account: nil, chats: [chat: 0], limit: 501).response.status == .unprocessableContent)
        }
    }

    @Test(arguments: TestEngine.all)
    func aDeviceBehindThePrunedLogIsToldToReload(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(alice, members: [bob])
            for index in 1...5 { try await api.post(alice, to: chat, "old \(index)") }
            // Retention: everything so far is older than the cut.
            let removed = try await services.store.updates.prune(createdBefore: Timestamp.now().adding(seconds: 1))
            #expect(removed >= 5)
            try await api.post(alice, to: chat, "new")
            let behind = try await Self.updates(api, bob, account: 0, chats: [chat: 2])
            #expect(behind.list("too_long") == [chat])
            #expect(behind.pts(of: chat) == 6)
            #expect(behind.response["account_too_long"] as? Bool == true)
            // A device that had everything up to the cut goes on from there.
            let caughtUp = try await Self.updates(api, bob, account: nil, chats: [chat: 5])
            #expect(caughtUp.list("too_long").isEmpty)
            #expect(caughtUp.types == ["new_message"])
        }
    }

    @Test(arguments: TestEngine.all)
    func aPositionTheServerNeverIssuedIsRefused(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let chat = try await api.createGroup(alice)
            try await api.post(alice, to: chat, "one")
            let ahead = try await Self.updates(api, alice, account: nil, chats: [chat: 99])
            #expect(ahead.list("invalid_position") == [chat])
            #expect(ahead.pts(of: chat) == 1)
            let account = try await Self.updates(api, alice, account: 999, chats: [:])
            #expect(account.response.status == .unprocessableContent)
            #expect(account.response.errorCode == "invalid_position")
            let malformed = try await api.send(.get, "/api/v1/updates?chats=nonsense", token: alice.token)
            #expect(malformed.status == .unprocessableContent)
            #expect(try await api.send(.get, "/api/v1/updates?chats=\(chat):-1", token: alice.token).status == .unprocessableContent)
        }
    }

    @Test(arguments: TestEngine.all)
    func channelSubscribersNeverLearnOfEachOtherButAdminsDo(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let reader = try await api.register(username: "reader_1")
            let other = try await api.register(username: "other_1")
            let channel = try await api.createChannel(owner)
            #expect(try await api.send(.post, "/api/v1/channels/\(channel)/subscribe", token: reader.token).status == .ok)
            let readerHeld = try await Self.positions(api, reader)
            let ownerHeld = try await Self.positions(api, owner)
            #expect(try await api.send(.post, "/api/v1/channels/\(channel)/subscribe", token: other.token).status == .ok)
            #expect(try await api.send(.post, "/api/v1/channels/\(channel)/posts", json: ["content": "post"], token: owner.token).status == .created)
            let readers = try await Self.updates(api, reader, account: readerHeld.account, chats: [channel: readerHeld.chats[channel] ?? 0])
            #expect(readers.types == ["new_message"])
            let owners = try await Self.updates(api, owner, account: ownerHeld.account, chats: [channel: ownerHeld.chats[channel] ?? 0])
            #expect(owners.types == ["member_added", "new_message"])
            #expect(owners.updates.first?["user_id"] as? String == other.id)
        }
    }

    @Test(arguments: TestEngine.all)
    func aReconnectingDeviceCatchesUpOnEverythingOverTheSocket(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let chat = try await client.createGroup(named: "Team", members: [bob.user.id], token: alice.token)
            let first = await TestDevice(client, token: bob.token)
            try await first.ready()
            let sent = try await client.send("hello", to: chat, token: alice.token)
            try await first.recorder.wait("hello") { $0.contains { $0.message?.content == "hello" } }
            let held = await first.connection.knownPositions
            await first.stop()

            // Offline: an edit, a rename, a deletion.
            let _: ChatMessage = try await client.call(.PATCH, "/api/v1/messages/\(sent.id)", body: ["content": "hello, edited"], token: alice.token)
            let _: ChatSummary = try await client.call(.PATCH, "/api/v1/chats/\(chat)", body: ["name": "Renamed"], token: alice.token)
            let doomed = try await client.send("doomed", to: chat, token: alice.token)
            _ = try await Live.call(client, .DELETE, "/api/v1/messages/\(doomed.id)?for=everyone", token: alice.token)

            let back = await TestDevice(client, token: bob.token, positions: held)
            try await back.ready()
            let types = await back.recorder.frames.map(\.type).filter { $0 != "presence" }
            #expect(Array(types.prefix(5)) == ["message_edited", "chat_updated", "new_message", "message_deleted", "resumed"])
            #expect(await back.connection.knownPositions.chats[chat] == held.chats[chat]! + 4)
            await back.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func aSocketThatStopsReadingMidCatchUpIsDroppedAndFreesItsPlace(engine: TestEngine) async throws {
        try await withLiveServer(engine, gateway: GatewayConfiguration(outgoingQueueLimit: 20, overflowGrace: .seconds(1))) { client, services in
            let alice = try await client.signUp("alice_1")
            let chat = try await client.createGroup(named: "Big", members: [], token: alice.token)
            let chatID = try #require(UUID(uuidString: chat))
            // About 4 MB of history: more than the socket buffers hold, so the server's writes stall.
            let sender = try #require(UUID(uuidString: alice.user.id))
            try await services.store.messages.appendBulk((1...490).map { String(repeating: "x", count: 8000) + "\($0)" }, to: chatID, from: sender, at: .now())
            // A client that asks for a big page and never reads.
            let socket = try await RawHTTP.openSilentWebSocket(port: try Live.port(client), path: "/ws?token=\(alice.token)")
            defer { RawHTTP.close(socket) }
            try RawHTTP.sendTextFrame(socket, #"{"type":"resume","chats":{"\#(chat)":0},"limit":500}"#)
            let deadline = ContinuousClock.now + .seconds(8)
            while await services.registry.count > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(await services.registry.count == 0)
            // The server goes on serving others.
            let device = await TestDevice(client, token: alice.token)
            try await device.ready()
            await device.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func aMessageDeletedForMeNeverShowsAgainLiveOrCaughtUp(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_1")
            let bob = try await client.signUp("bob_12")
            let chat = try await client.createGroup(named: "Team", members: [bob.user.id], token: alice.token)
            let secret = try await client.send("secret", to: chat, token: alice.token)
            #expect(try await Live.call(client, .DELETE, "/api/v1/messages/\(secret.id)?for=me", token: bob.token).status == 204)
            let device = await TestDevice(client, token: bob.token)
            try await device.ready()
            let _: ChatMessage = try await client.call(.PATCH, "/api/v1/messages/\(secret.id)", body: ["content": "secret, edited"], token: alice.token)
            try await device.recorder.wait("the edit") { $0.contains { $0.type == "message_edited" } }
            let edit = try #require(await device.recorder.frames.first { $0.type == "message_edited" })
            #expect(edit.message == nil)
            #expect(edit.pts != nil)
            await device.stop()
        }
    }

    @Test(arguments: TestEngine.all)
    func aRepeatedSendIsAckedWithTheFirstPosition(engine: TestEngine) async throws {
        try await withLiveServer(engine) { client, _ in
            let alice = try await client.signUp("alice_1")
            let chat = try await client.createGroup(named: "Team", members: [], token: alice.token)
            let device = await TestDevice(client, token: alice.token)
            try await device.ready()
            let first = try await device.connection.send("once", to: chat, clientMessageID: "m-1")
            let again = try await device.connection.send("once", to: chat, clientMessageID: "m-1")
            #expect(first.pts != nil)
            #expect(again.pts == first.pts)
            #expect(again.message?.id == first.message?.id)
            await device.stop()
        }
    }

    @Test func chatsFromBeforeTheLogStartItAtTheirNewestMessage() async throws {
        let folder = try TemporaryFolder()
        let engine = try await SQLiteEngine.open(path: folder.path + "/courier.sqlite", logger: TestEngine.logger)
        try await Migrator(engine: engine, migrations: Array(Schema.migrations.prefix(2))).migrate(logger: TestEngine.logger)
        let chatID = UUID()
        try await engine.write { sql in
            try await sql.raw("""
                INSERT INTO chats (id, type, name, owner_id, dm_key, last_seq, member_count, last_activity_at, created_at, updated_at)
                VALUES (\(bind: chatID), 'group', 'Old', NULL, NULL, 7, 0, 0, 0, 0)
                """).run()
        }
        try await Migrator(engine: engine).migrate(logger: TestEngine.logger)
        let bounds = try await UpdateStore(engine: engine).bounds(ofChats: [chatID])
        #expect(bounds[chatID] == UpdateStore.Bounds(newest: 7, pruned: 7))
        try await engine.close()
    }
}

import Foundation
import SQLKit
import CourierStore
import CourierCore
import Testing

@Suite("Messages")
struct MessageTests {
    @Test(arguments: TestEngine.all)
    func sendingAssignsSeqAndValidates(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let stranger = try await api.register(username: "stranger")
            let chat = try await api.createGroup(alice, members: [bob])

            let first = try await api.sendMessage(alice, to: chat, "  Hello  ", extra: ["metadata": ["lang": "en", "n": 1]])
            #expect(first.status == .created)
            #expect(first["seq"] as? Int == 1)
            #expect(first["content"] as? String == "Hello")
            #expect(first["sender_id"] as? String == alice.id)
            #expect(first["chat_id"] as? String == chat)
            #expect((first["metadata"] as? [String: Any])?["lang"] as? String == "en")
            let second = try await api.sendMessage(bob, to: chat, "Hi", extra: ["reply_to_id": try first.string("id")])
            #expect(second["seq"] as? Int == 2)
            #expect(second["reply_to_id"] as? String == (try first.string("id")))
            let image = try await api.sendMessage(bob, to: chat, "", extra: ["message_type": "image", "media_url": "https://example.com/cat.jpg"])
            #expect(image.status == .created)
            #expect(image["media_url"] as? String == "https://example.com/cat.jpg")
            #expect(try await api.sendMessage(alice, to: chat, String(repeating: "x", count: 4096)).status == .created)

            let invalid: [(String, [String: Any?])] = [
                ("content", ["content": ""]),
                ("content", ["content": "   "]),
                ("content", ["content": String(repeating: "x", count: 4097)]),
                ("message_type", ["message_type": "sticker"]),
                ("media_url", ["message_type": "video"]),
                ("media_url", ["message_type": "image", "media_url": "ftp://x/y"]),
                ("reply_to_id", ["reply_to_id": "nope"]),
                ("reply_to_id", ["reply_to_id": UUID().uuidString]),
                ("attachments", ["attachments": ["not-a-media-id"]]),
                ("metadata", ["metadata": ["big": String(repeating: "m", count: 5000)]]),
                ("client_msg_id", ["client_msg_id": String(repeating: "c", count: 65)]),
                // PostgreSQL's text takes no NUL: this was a 500 there.
                ("client_msg_id", ["client_msg_id": "a\u{0}b"]),
                ("client_msg_id", ["client_msg_id": "line\nbreak"]),
                ("chat_id", ["chat_id": "not-a-chat"]),
            ]
            for (field, change) in invalid {
                let response = try await api.sendMessage(alice, to: chat, "text", extra: change)
                #expect(response.status == .unprocessableContent, "\(change)")
                #expect(response.errorField == field, "\(change)")
            }
            #expect(try await api.sendMessage(stranger, to: chat, "let me in").status == .notFound)
            #expect(try await api.sendMessage(alice, to: UUID().uuidString, "void").status == .notFound)
            #expect(try await api.send(.post, "/api/v1/messages", json: ["content": "no chat"], token: alice.token).status == .badRequest)
            // Nothing from the failed attempts was stored.
            #expect(try await api.history(alice, chat)["total"] as? Int == 4)
        }
    }

    /// One send's answer in `concurrentSendsRefusalsAndARemovalLeaveNoGap`.
    private struct SendAnswer: Sendable {
        let senderID: String
        let status: Int
        let startedAt: ContinuousClock.Instant
    }

    /// Twelve sends from each of `senders` at once, and `leaver` removed by `owner` 20 ms in; the
    /// answers, and when the removal was answered.
    private static func sendAtOnce(
        _ api: APIClient, _ senders: [SignedInUser], to chat: String, removing leaver: SignedInUser, by owner: SignedInUser
    ) async throws -> ([SendAnswer], ContinuousClock.Instant) {
        async let removedAt: ContinuousClock.Instant = {
            try await Task.sleep(for: .milliseconds(20))
            let removal = try await api.send(.delete, "/api/v1/chats/\(chat)/members/\(leaver.id)", token: owner.token)
            #expect(removal.status == .noContent)
            return ContinuousClock.now
        }()
        var answers: [SendAnswer] = []
        try await withThrowingTaskGroup(of: [SendAnswer].self) { group in
            for sender in senders {
                group.addTask {
                    var answers: [SendAnswer] = []
                    for index in 0..<12 {
                        let startedAt = ContinuousClock.now
                        let response = try await api.sendMessage(sender, to: chat, "\(sender.id) \(index)")
                        answers.append(SendAnswer(senderID: sender.id, status: Int(response.status.code), startedAt: startedAt))
                    }
                    return answers
                }
            }
            for try await some in group { answers += some }
        }
        return (answers, try await removedAt)
    }

    /// Sends at once from every member, refused sends of a stranger, and a member removed while
    /// sending: every stored message has its own `seq`, from 1 without a gap (a refusal takes no
    /// position; on PostgreSQL all of this runs in `courier_append_message`), and the removed
    /// member's sends started after the removal are all refused.
    @Test(arguments: TestEngine.all)
    func concurrentSendsRefusalsAndARemovalLeaveNoGap(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            var members: [SignedInUser] = []
            for index in 0..<4 { members.append(try await api.register(username: "member_\(index)")) }
            let leaver = try await api.register(username: "leaver_1")
            let stranger = try await api.register(username: "stranger_1")
            let chat = try await api.createGroup(owner, name: "Busy", members: members + [leaver])
            let senders = [owner] + members + [leaver, stranger]

            let (answers, removal) = try await Self.sendAtOnce(api, senders, to: chat, removing: leaver, by: owner)
            #expect(answers.allSatisfy { [201, 404].contains($0.status) })
            #expect(answers.filter { $0.senderID == stranger.id }.allSatisfy { $0.status == 404 })
            #expect(answers.filter { $0.senderID != stranger.id && $0.senderID != leaver.id }.allSatisfy { $0.status == 201 })
            #expect(answers.filter { $0.senderID == leaver.id && $0.startedAt > removal }.allSatisfy { $0.status == 404 })

            let stored = answers.filter { $0.status == 201 }.count
            print("concurrent sends: \(answers.count) answers, \(stored) stored")
            let page = try await api.history(owner, chat, query: "?limit=100")
            #expect(page.status == .ok)
            #expect(page.seqs.sorted() == Array(1...stored))
        }
    }

    @Test(arguments: TestEngine.all)
    func clientMessageIDMakesSendingIdempotent(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let chat = try await api.createGroup(alice)
            let first = try await api.sendMessage(alice, to: chat, "once", extra: ["client_msg_id": "c-1"])
            let retry = try await api.sendMessage(alice, to: chat, "once", extra: ["client_msg_id": "c-1"])
            #expect(first.status == .created)
            #expect(retry.status == .ok)
            #expect(try retry.string("id") == first.string("id"))
            #expect(retry["seq"] as? Int == 1)
            #expect(try await api.history(alice, chat)["total"] as? Int == 1)
        }
    }

    @Test(arguments: TestEngine.all)
    func aRetryAfterLeavingStillGetsItsMessage(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(alice, members: [bob])
            let first = try await api.sendMessage(bob, to: chat, "before leaving", extra: ["client_msg_id": "r-1"])
            #expect(first.status == .created)
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/leave", token: bob.token).status == .noContent)
            // The ack was lost and Bob retries: he gets his message, not a 404.
            let retry = try await api.sendMessage(bob, to: chat, "before leaving", extra: ["client_msg_id": "r-1"])
            #expect(retry.status == .ok)
            #expect(try retry.string("id") == first.string("id"))
            // A new message is refused, as is a retry id he never used.
            #expect(try await api.sendMessage(bob, to: chat, "after", extra: ["client_msg_id": "r-2"]).status == .notFound)
        }
    }

    @Test(arguments: TestEngine.all)
    func concurrentSendersGetGapFreeSeqs(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(alice, members: [bob])
            let seqs = try await withThrowingTaskGroup(of: Int?.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let sender = index.isMultiple(of: 2) ? alice : bob
                        return try await api.sendMessage(sender, to: chat, "m\(index)", extra: ["client_msg_id": "k\(index)"])["seq"] as? Int
                    }
                }
                // The same client id sent twice at once must still store one message.
                group.addTask { try await api.sendMessage(alice, to: chat, "m0", extra: ["client_msg_id": "k0"])["seq"] as? Int }
                return try await group.reduce(into: [Int]()) { if let seq = $1 { $0.append(seq) } }
            }
            #expect(seqs.count == 61)
            #expect(Set(seqs) == Set(1...60))
            let all = try await api.history(alice, chat, query: "?limit=100")
            #expect(all.seqs == Array((1...60).reversed()))
            #expect(all["total"] as? Int == 60)
        }
    }

    @Test(arguments: TestEngine.all)
    func historyPagesByOffsetAndCursor(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let chat = try await api.createGroup(alice)
            for index in 1...120 { try await api.post(alice, to: chat, "message \(index)") }

            let newest = try await api.history(alice, chat)
            #expect(newest.seqs == Array((71...120).reversed()))
            #expect(newest["total"] as? Int == 120)
            #expect(newest["has_more"] as? Bool == true)
            #expect(newest.messages.first?["content"] as? String == "message 120")

            let offset = try await api.history(alice, chat, query: "?limit=50&offset=100")
            #expect(offset.seqs == Array((1...20).reversed()))
            #expect(offset["has_more"] as? Bool == false)

            let before = try await api.history(alice, chat, query: "?limit=10&before_seq=11")
            #expect(before.seqs == Array((1...10).reversed()))
            #expect(before["has_more"] as? Bool == false)
            let beforeMore = try await api.history(alice, chat, query: "?limit=10&before_seq=50")
            #expect(beforeMore.seqs == Array((40...49).reversed()))
            #expect(beforeMore["has_more"] as? Bool == true)

            let after = try await api.history(alice, chat, query: "?limit=5&after_seq=100")
            #expect(after.seqs == [101, 102, 103, 104, 105])
            #expect(after["has_more"] as? Bool == true)
            let caughtUp = try await api.history(alice, chat, query: "?after_seq=120")
            #expect(caughtUp.seqs.isEmpty)
            #expect(caughtUp["has_more"] as? Bool == false)

            #expect(try await api.history(alice, chat, query: "?limit=100").seqs.count == 100)

            // Offsets count only what the viewer sees: with messages deleted for them, and without.
            let bob = try await api.register(username: "bob_12")
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/members", json: ["user_ids": [bob.id]], token: alice.token).status == .ok)
            let ids = try await api.history(bob, chat, query: "?limit=3").messages.compactMap { $0["id"] as? String }
            for id in ids.prefix(2) {
                #expect(try await api.send(.delete, "/api/v1/messages/\(id)?for=me", token: bob.token).status == .noContent)
            }
            let bobs = try await api.history(bob, chat, query: "?limit=3&offset=1")
            #expect(bobs.seqs == [117, 116, 115])
            #expect(bobs["total"] as? Int == 118)
            #expect(try await api.history(alice, chat, query: "?limit=3&offset=1").seqs == [119, 118, 117])
            #expect(try await api.history(bob, chat, query: "?limit=3&before_seq=121").seqs == [118, 117, 116])
            #expect(try await api.history(bob, chat, query: "?after_seq=116").seqs == [117, 118])
            #expect(try await api.history(bob, chat, query: "?limit=3&offset=117").seqs == [1])
            // A chat without messages is a page of none, with its one row from the chat alone.
            let empty = try await api.history(alice, try await api.createGroup(alice))
            #expect(empty.status == .ok)
            #expect(empty.seqs.isEmpty)
            #expect(empty["total"] as? Int == 0)
            #expect(empty["has_more"] as? Bool == false)
            #expect(try await api.history(bob, try await api.createGroup(alice), query: "?limit=3").status == .notFound)
            for query in ["?limit=0", "?limit=101", "?limit=ten", "?offset=-5", "?before_seq=0", "?after_seq=-1",
                          "?before_seq=5&after_seq=1", "?offset=5&before_seq=9"] {
                let response = try await api.history(alice, chat, query: query)
                #expect(response.status == .badRequest, "\(query)")
                #expect(response.errorCode == "invalid_parameter")
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func editingIsForTheSender(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let stranger = try await api.register(username: "stranger")
            let chat = try await api.createGroup(alice, members: [bob])
            let id = try await api.post(alice, to: chat, "typo")

            let edited = try await api.send(.patch, "/api/v1/messages/\(id)", json: ["content": "fixed"], token: alice.token)
            #expect(edited.status == .ok)
            #expect(edited["content"] as? String == "fixed")
            #expect(edited["edited_at"] is String)
            #expect(edited["seq"] as? Int == 1)
            #expect(try await api.send(.patch, "/api/v1/messages/\(id)", json: ["content": "mine"], token: bob.token).status == .forbidden)
            #expect(try await api.send(.patch, "/api/v1/messages/\(id)", json: ["content": "x"], token: stranger.token).status == .notFound)
            #expect(try await api.send(.patch, "/api/v1/messages/\(id)", json: ["content": " "], token: alice.token).status == .unprocessableContent)
            #expect(try await api.send(.patch, "/api/v1/messages/\(UUID())", json: ["content": "x"], token: alice.token).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/messages/\(id)", token: bob.token)["content"] as? String == "fixed")
            #expect(try await api.send(.get, "/api/v1/messages/\(id)", token: stranger.token).status == .notFound)
        }
    }

    @Test(arguments: TestEngine.all)
    func deletingForEveryoneLeavesATombstone(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(owner, members: [alice, bob])
            let byAlice = try await api.post(alice, to: chat, "secret")
            let another = try await api.post(alice, to: chat, "another")
            try await api.post(bob, to: chat, "bob's")

            #expect(try await api.send(.delete, "/api/v1/messages/\(byAlice)", token: bob.token).status == .forbidden)
            #expect(try await api.send(.delete, "/api/v1/messages/\(byAlice)", token: alice.token).status == .noContent)
            #expect(try await api.send(.delete, "/api/v1/messages/\(another)?for=everyone", token: owner.token).status == .noContent)
            #expect(try await api.send(.delete, "/api/v1/messages/\(another)?for=nobody", token: owner.token).status == .badRequest)

            let history = try await api.history(bob, chat)
            #expect(history.seqs == [3, 2, 1])
            let tombstone = try #require(history.messages.last)
            #expect(tombstone["content"] as? String == "")
            #expect(tombstone["deleted_at"] is String)
            #expect(try await api.send(.patch, "/api/v1/messages/\(byAlice)", json: ["content": "back"], token: alice.token).status == .notFound)
        }
    }

    @Test(arguments: TestEngine.all)
    func deletingForMeHidesOnlyFromMe(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(alice, members: [bob])
            let id = try await api.post(bob, to: chat, "hello")
            try await api.post(bob, to: chat, "again")
            #expect(try await api.send(.delete, "/api/v1/messages/\(id)?for=me", token: alice.token).status == .noContent)
            #expect(try await api.send(.delete, "/api/v1/messages/\(id)?for=me", token: alice.token).status == .notFound)
            let mine = try await api.history(alice, chat)
            #expect(mine.seqs == [2])
            #expect(mine["total"] as? Int == 1)
            let bobs = try await api.history(bob, chat)
            #expect(bobs.seqs == [2, 1])
            #expect(bobs.messages.last?["content"] as? String == "hello")
        }
    }

    @Test(arguments: TestEngine.all)
    func forwardingCreditsTheOriginalAuthor(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let source = try await api.createGroup(alice, members: [bob])
            let target = try await api.createGroup(bob, members: [carol])
            let original = try await api.post(alice, to: source, "worth sharing")

            let forwarded = try await api.send(.post, "/api/v1/messages/\(original)/forward", json: ["chat_id": target], token: bob.token)
            #expect(forwarded.status == .created)
            #expect(forwarded["content"] as? String == "worth sharing")
            #expect(forwarded["sender_id"] as? String == bob.id)
            let origin = try forwarded.object("forwarded_from")
            #expect(origin["message_id"] as? String == original)
            #expect(origin["sender_id"] as? String == alice.id)

            // Forwarding the forward still credits Alice.
            let again = try await api.send(.post, "/api/v1/messages/\(try forwarded.string("id"))/forward", json: ["chat_id": target], token: carol.token)
            #expect(try again.object("forwarded_from")["sender_id"] as? String == alice.id)

            #expect(try await api.send(.post, "/api/v1/messages/\(original)/forward", json: ["chat_id": target], token: carol.token).status == .notFound)
            #expect(try await api.send(.post, "/api/v1/messages/\(original)/forward", json: ["chat_id": target], token: alice.token).status == .notFound)
            #expect(try await api.send(.post, "/api/v1/messages/\(original)/forward", json: ["chat_id": "x"], token: bob.token).status == .unprocessableContent)
        }
    }

    /// Within a chat, a message is never stamped earlier than the one before it, whatever the
    /// senders' clocks and however the sends interleave: search pages by time within each chat's
    /// `seq` order. (On PostgreSQL a send that waited for the chat's row lock once read the
    /// previous message from before the wait, and took its own, earlier, time.)
    @Test(arguments: TestEngine.all)
    func timeNeverGoesBackWithinAChat(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let chat = try await api.createGroup(alice, members: [])
            let chatID = try #require(UUID(uuidString: chat))
            let aliceID = try #require(UUID(uuidString: alice.id))
            let now = Timestamp.now().milliseconds
            // Concurrent sends whose clocks disagree by up to a second.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for number in 0..<48 {
                    group.addTask {
                        let draft = try MessageDraft(chatID: chatID, content: "message \(number)")
                        _ = try await services.store.messages.append(draft, from: aliceID, at: Timestamp(milliseconds: now - Int64((number * 37) % 1000)))
                    }
                }
                try await group.waitForAll()
            }
            let times = try await services.store.engine.read { sql in
                try await sql.raw("SELECT created_at FROM messages WHERE chat_id = \(bind: chatID) ORDER BY seq").all()
                    .map { try $0.decode(column: "created_at", as: Int64.self) }
            }
            #expect(times.count == 48)
            #expect(times == times.sorted(), "times out of seq order: \(times)")
        }
    }
}

import CourierCore
import CourierStore
import Foundation
import Testing

@Suite("Chats and members")
struct ChatTests {
    @Test(arguments: TestEngine.all)
    func createGroupCountsTheOwner(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let response = try await api.send(.post, "/api/v1/chats", json: [
                "type": "group", "name": "  Team  ", "member_ids": [bob.id, carol.id],
            ], token: alice.token)
            #expect(response.status == .created)
            #expect(response["member_count"] as? Int == 3)
            #expect(response["name"] as? String == "Team")
            #expect(response["owner_id"] as? String == alice.id)
            #expect(response["type"] as? String == "group")
        }
    }

    @Test(arguments: TestEngine.all)
    func badGroupsAreRejectedNamingTheProblem(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let unknown = UUID().uuidString.lowercased()
            let cases: [([String: Any?], String)] = [
                (["type": "group", "name": "T", "member_ids": [bob.id, unknown]], unknown),
                (["type": "group", "name": "T", "member_ids": [bob.id, bob.id]], bob.id),
                (["type": "group", "name": "T", "member_ids": ["not-an-id"]], "not-an-id"),
                (["type": "group", "name": "T", "member_ids": [alice.id]], alice.id),
            ]
            for (body, named) in cases {
                let response = try await api.send(.post, "/api/v1/chats", json: body, token: alice.token)
                #expect(response.status == .unprocessableContent)
                #expect(response.errorCode == "invalid_members")
                let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(named), "\(message)")
            }
            for body: [String: Any?] in [["type": "group", "name": "   "], ["type": "group"], ["type": "group", "name": String(repeating: "n", count: 256)]] {
                let response = try await api.send(.post, "/api/v1/chats", json: body, token: alice.token)
                #expect(response.status == .unprocessableContent)
                #expect(response.errorField == "name")
            }
            let badType = try await api.send(.post, "/api/v1/chats", json: ["type": "party", "name": "x"], token: alice.token)
            #expect(badType.errorField == "type")
            let chats = try await api.send(.get, "/api/v1/chats", token: alice.token)
            #expect(chats["total"] as? Int == 0)
        }
    }

    @Test(arguments: TestEngine.all)
    func directChatsAreFoundAgain(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let first = try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": bob.id], token: alice.token)
            #expect(first.status == .created)
            #expect(first["peer_id"] as? String == bob.id)
            #expect(first["member_count"] as? Int == 2)
            let again = try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": bob.id], token: alice.token)
            #expect(again.status == .ok)
            let fromBob = try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": alice.id], token: bob.token)
            #expect(fromBob.status == .ok)
            #expect(try again.string("id") == first.string("id"))
            #expect(try fromBob.string("id") == first.string("id"))
            #expect(fromBob["peer_id"] as? String == alice.id)
            #expect(try fromBob.object("peer")["username"] as? String == "alice_1")
            let listed = try await api.send(.get, "/api/v1/chats", token: alice.token)
            let dm = try #require((listed["chats"] as? [[String: Any]])?.first)
            #expect((dm["peer"] as? [String: Any])?["username"] as? String == "bob_12")
            #expect((dm["peer"] as? [String: Any])?["phone"] == nil, "only the public profile")

            let yourself = try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": alice.id], token: alice.token)
            #expect(yourself.status == .unprocessableContent)
            let nobody = try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": UUID().uuidString], token: alice.token)
            #expect(nobody.status == .unprocessableContent)
            #expect(nobody.errorField == "user_id")
        }
    }

    @Test(arguments: TestEngine.all)
    func chatListIsNewestFirstWithUnreadCounts(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let older = try await api.createGroup(alice, name: "Older", members: [bob])
            let newer = try await api.createGroup(alice, name: "Newer", members: [bob])
            try await api.post(alice, to: newer, "first")
            try await api.post(alice, to: older, "one")
            try await api.post(alice, to: older, "two")

            let list = try await api.send(.get, "/api/v1/chats", token: bob.token)
            let chats = try #require(list["chats"] as? [[String: Any]])
            #expect(chats.map { $0["name"] as? String } == ["Older", "Newer"])
            #expect(chats.map { $0["unread_count"] as? Int } == [2, 1])
            #expect((chats[0]["last_message"] as? [String: Any])?["content"] as? String == "two")
            #expect(chats[0]["member_count"] as? Int == 2)
            // The sender has read what they sent.
            let mine = try await api.send(.get, "/api/v1/chats/\(older)", token: alice.token)
            #expect(mine["unread_count"] as? Int == 0)

            let page = try await api.send(.get, "/api/v1/chats?limit=1&offset=1", token: bob.token)
            #expect((page["chats"] as? [[String: Any]])?.first?["name"] as? String == "Newer")
            #expect(page["total"] as? Int == 2)
            #expect(page["has_more"] as? Bool == false)
            #expect(try await api.send(.get, "/api/v1/chats?limit=1", token: bob.token)["has_more"] as? Bool == true)

            for query in ["limit=0", "limit=101", "limit=abc", "offset=-1", "limit="] {
                let bad = try await api.send(.get, "/api/v1/chats?\(query)", token: bob.token)
                #expect(bad.status == .badRequest, "\(query)")
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func unreadCountsStopAtTheirLimit(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(alice, members: [bob])
            let chatID = try #require(UUID(uuidString: chat))
            let aliceID = try #require(UUID(uuidString: alice.id))
            for batch in 0..<3 {
                let contents = (0..<400).map { "bulk \(batch * 400 + $0)" }
                try await services.store.messages.appendBulk(contents, to: chatID, from: aliceID, at: .now())
            }
            let limit = ChatStore.unreadCountLimit
            #expect(try await api.send(.get, "/api/v1/chats/\(chat)", token: bob.token)["unread_count"] as? Int == limit)
            let listed = try await api.send(.get, "/api/v1/chats", token: bob.token)
            #expect((listed["chats"] as? [[String: Any]])?.first?["unread_count"] as? Int == limit)
            let read = try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": 1150], token: bob.token)
            #expect(read["unread_count"] as? Int == 50)
        }
    }

    @Test(arguments: TestEngine.all)
    func readStateMovesForwardOnly(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(alice, members: [bob])
            for index in 1...5 { try await api.post(alice, to: chat, "m\(index)") }

            let read = try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": 3], token: bob.token)
            #expect(read.status == .ok)
            #expect(read["last_read_seq"] as? Int == 3)
            #expect(read["unread_count"] as? Int == 2)
            // Read ticks: each side sees how far the other has read.
            #expect(try await api.send(.get, "/api/v1/chats/\(chat)", token: alice.token)["others_last_read_seq"] as? Int == 3)
            #expect(try await api.send(.get, "/api/v1/chats/\(chat)", token: bob.token)["others_last_read_seq"] as? Int == 5)
            let back = try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": 1], token: bob.token)
            #expect(back["last_read_seq"] as? Int == 3)
            let beyond = try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": 999], token: bob.token)
            #expect(beyond["last_read_seq"] as? Int == 5)
            #expect(beyond["unread_count"] as? Int == 0)
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": -1], token: bob.token).status == .unprocessableContent)
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": "x"], token: bob.token).status == .badRequest)
            let stranger = try await api.register(username: "carol_1")
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": 1], token: stranger.token).status == .notFound)
        }
    }

    @Test(arguments: TestEngine.all)
    func membersAreManagedByRole(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let admin = try await api.register(username: "admin_1")
            let member = try await api.register(username: "member_1")
            let newcomer = try await api.register(username: "newcomer")
            let chat = try await api.createGroup(owner, members: [admin, member])
            let members = "/api/v1/chats/\(chat)/members"

            #expect(try await api.send(.patch, "\(members)/\(admin.id)", json: ["role": "admin"], token: member.token).status == .forbidden)
            let promoted = try await api.send(.patch, "\(members)/\(admin.id)", json: ["role": "admin"], token: owner.token)
            #expect(promoted.status == .ok)
            #expect(promoted["role"] as? String == "admin")
            #expect(try await api.send(.patch, "\(members)/\(admin.id)", json: ["role": "owner"], token: owner.token).status == .unprocessableContent)

            #expect(try await api.send(.post, members, json: ["user_ids": [newcomer.id]], token: member.token).status == .forbidden)
            let added = try await api.send(.post, members, json: ["user_ids": [newcomer.id, member.id]], token: admin.token)
            #expect(added.status == .ok)
            #expect(added["added"] as? [String] == [newcomer.id])
            #expect(added["member_count"] as? Int == 4)

            let list = try await api.send(.get, members, token: member.token)
            let roles = (list["members"] as? [[String: Any]])?.map { $0["role"] as? String }
            #expect(roles == ["owner", "admin", "member", "member"])
            #expect(list["total"] as? Int == 4)

            #expect(try await api.send(.delete, "\(members)/\(owner.id)", token: admin.token).status == .forbidden)
            #expect(try await api.send(.delete, "\(members)/\(newcomer.id)", token: member.token).status == .forbidden)
            #expect(try await api.send(.delete, "\(members)/\(newcomer.id)", token: admin.token).status == .noContent)
            #expect(try await api.send(.get, "/api/v1/chats/\(chat)", token: newcomer.token).status == .notFound)
            #expect(try await api.send(.delete, "\(members)/\(newcomer.id)", token: admin.token).status == .notFound)

            // The owner leaves: the admin takes over.
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/leave", token: owner.token).status == .noContent)
            let after = try await api.send(.get, "/api/v1/chats/\(chat)", token: admin.token)
            #expect(after["owner_id"] as? String == admin.id)
            #expect(after["role"] as? String == "owner")
            #expect(after["member_count"] as? Int == 2)
        }
    }

    @Test(arguments: TestEngine.all)
    func renameIsForAdmins(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let member = try await api.register(username: "member_1")
            let stranger = try await api.register(username: "stranger")
            let chat = try await api.createGroup(owner, members: [member])
            let renamed = try await api.send(.patch, "/api/v1/chats/\(chat)", json: ["name": "New name"], token: owner.token)
            #expect(renamed.status == .ok)
            #expect(renamed["name"] as? String == "New name")
            #expect(try await api.send(.patch, "/api/v1/chats/\(chat)", json: ["name": "Mine"], token: member.token).status == .forbidden)
            #expect(try await api.send(.patch, "/api/v1/chats/\(chat)", json: ["name": "Mine"], token: stranger.token).status == .notFound)
            #expect(try await api.send(.patch, "/api/v1/chats/\(chat)", json: ["name": ""], token: owner.token).status == .unprocessableContent)

            let dm = try await api.send(.post, "/api/v1/chats", json: ["type": "dm", "user_id": member.id], token: owner.token).string("id")
            #expect(try await api.send(.patch, "/api/v1/chats/\(dm)", json: ["name": "x"], token: owner.token).status == .forbidden)
            #expect(try await api.send(.post, "/api/v1/chats/\(dm)/leave", token: owner.token).status == .forbidden)
            #expect(try await api.send(.post, "/api/v1/chats/\(dm)/members", json: ["user_ids": [stranger.id]], token: owner.token).status == .forbidden)
        }
    }

    @Test(arguments: TestEngine.all)
    func groupsHoldAtMost200MembersUnlessTheOwnerIsPremium(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let owner = try await api.register(username: "owner_1")
            var ids: [String] = []
            for index in 0..<200 {
                let now = Timestamp.now()
                let user = User(
                    id: UUID(), phone: try PhoneNumber("+1666\(String(format: "%07d", index))"), email: nil,
                    username: try Username("member_\(index)"), bio: nil, avatarURL: nil, isPremium: false, createdAt: now, updatedAt: now
                )
                try await services.store.users.create(user, passwordHash: "x")
                ids.append(user.id.uuidString)
            }
            let tooBig = try await api.send(.post, "/api/v1/chats", json: ["type": "group", "name": "Big", "member_ids": ids], token: owner.token)
            #expect(tooBig.status == .forbidden)
            #expect(tooBig.errorCode == "group_member_limit")

            let chat = try await api.send(.post, "/api/v1/chats", json: ["type": "group", "name": "Big", "member_ids": Array(ids.prefix(199))], token: owner.token)
            #expect(chat["member_count"] as? Int == 200)
            let id = try chat.string("id")
            let the201st = try await api.send(.post, "/api/v1/chats/\(id)/members", json: ["user_ids": [ids[199]]], token: owner.token)
            #expect(the201st.status == .forbidden)
            #expect(the201st.errorCode == "group_member_limit")
            #expect(try await api.send(.get, "/api/v1/chats/\(id)", token: owner.token)["member_count"] as? Int == 200)

            let bought = try await api.send(.post, "/api/v1/subscriptions/purchase", json: ["subscription_type": "premium_monthly", "payment_method": "stub"], token: owner.token)
            #expect(bought.status == .ok)
            let grown = try await api.send(.post, "/api/v1/chats/\(id)/members", json: ["user_ids": [ids[199]]], token: owner.token)
            #expect(grown.status == .ok)
            #expect(grown["member_count"] as? Int == 201)
        }
    }

    /// Groups created at once by different people with members in common all succeed: each
    /// creation records in every member's own log, taking the members' rows in one order.
    @Test(arguments: TestEngine.all)
    func groupsCreatedAtOnceWithMembersInCommonAllSucceed(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            var people: [SignedInUser] = []
            for number in 0..<8 { people.append(try await api.register(username: "person_\(number)")) }
            let everyone = people
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for round in 0..<16 {
                    group.addTask {
                        let owner = everyone[round % everyone.count]
                        // Each group has the others in a different order.
                        let members = everyone.filter { $0.id != owner.id }.shuffled()
                        let response = try await api.send(
                            .post, "/api/v1/chats", json: ["type": "group", "name": "Group \(round)", "member_ids": members.map(\.id)], token: owner.token
                        )
                        return Int(response.status.code)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 201, count: 16))
        }
    }
}

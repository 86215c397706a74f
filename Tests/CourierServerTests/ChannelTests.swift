import Foundation
import Testing

@Suite("Channels")
struct ChannelTests {
    @Test(arguments: TestEngine.all)
    func channelsAreCreatedFoundAndSubscribed(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let reader = try await api.register(username: "reader_1")
            let created = try await api.send(.post, "/api/v1/channels", json: [
                "name": "Daily News", "description": "All the news", "username": "Daily_News",
            ], token: owner.token)
            #expect(created.status == .created)
            #expect(created["username"] as? String == "daily_news")
            #expect(created["subscriber_count"] as? Int == 1)
            #expect(created["owner_id"] as? String == owner.id)
            let id = try created.string("id")

            let taken = try await api.send(.post, "/api/v1/channels", json: ["name": "Copy", "username": "daily_news"], token: reader.token)
            #expect(taken.status == .conflict)
            #expect(taken.errorField == "username")
            #expect(try await api.send(.post, "/api/v1/channels", json: ["name": ""], token: owner.token).status == .unprocessableContent)
            #expect(try await api.send(.post, "/api/v1/channels", json: ["name": "x", "username": "a!"], token: owner.token).status == .unprocessableContent)

            let found = try await api.send(.get, "/api/v1/channels?username=DAILY_NEWS", token: reader.token)
            #expect(found["id"] as? String == id)
            #expect(found["is_subscribed"] as? Bool == false)
            #expect(try await api.send(.get, "/api/v1/channels?username=nothing_here", token: reader.token).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/channels/\(UUID())", token: reader.token).status == .notFound)

            let subscribed = try await api.send(.post, "/api/v1/channels/\(id)/subscribe", token: reader.token)
            #expect(subscribed["subscriber_count"] as? Int == 2)
            #expect(subscribed["role"] as? String == "subscriber")
            #expect(try await api.send(.post, "/api/v1/channels/\(id)/subscribe", token: reader.token)["subscriber_count"] as? Int == 2)
            let left = try await api.send(.delete, "/api/v1/channels/\(id)/subscribe", token: reader.token)
            #expect(left["subscriber_count"] as? Int == 1)
            #expect(left["is_subscribed"] as? Bool == false)
            #expect(try await api.send(.delete, "/api/v1/channels/\(id)/subscribe", token: owner.token).status == .forbidden)
        }
    }

    @Test(arguments: TestEngine.all)
    func onlyAdminsPostAndSubscribersRead(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let reader = try await api.register(username: "reader_1")
            let outsider = try await api.register(username: "outsider")
            let id = try await api.createChannel(owner)
            _ = try await api.send(.post, "/api/v1/channels/\(id)/subscribe", token: reader.token)

            let post = try await api.send(.post, "/api/v1/channels/\(id)/posts", json: ["content": "Edition 1"], token: owner.token)
            #expect(post.status == .created)
            #expect(post["seq"] as? Int == 1)
            let viaMessages = try await api.sendMessage(owner, to: id, "Edition 2")
            #expect(viaMessages["seq"] as? Int == 2)

            let denied = try await api.send(.post, "/api/v1/channels/\(id)/posts", json: ["content": "me too"], token: reader.token)
            #expect(denied.status == .forbidden)
            #expect(denied.errorCode == "not_allowed_to_post")
            #expect(try await api.sendMessage(reader, to: id, "me too").status == .forbidden)
            #expect(try await api.send(.post, "/api/v1/channels/\(id)/posts", json: ["content": "hi"], token: outsider.token).status == .forbidden)

            let posts = try await api.send(.get, "/api/v1/channels/\(id)/posts?limit=1", token: reader.token)
            #expect(posts.seqs == [2])
            #expect(posts["has_more"] as? Bool == true)
            #expect(try await api.send(.get, "/api/v1/channels/\(id)/posts?before_seq=2", token: reader.token).seqs == [1])
            let closed = try await api.send(.get, "/api/v1/channels/\(id)/posts", token: outsider.token)
            #expect(closed.status == .forbidden)
            #expect(closed.errorCode == "not_subscribed")

            // An admin appointed by the owner may post; subscribers don't see the subscriber list.
            #expect(try await api.send(.get, "/api/v1/chats/\(id)/members", token: reader.token).status == .forbidden)
            let promoted = try await api.send(.patch, "/api/v1/chats/\(id)/members/\(reader.id)", json: ["role": "admin"], token: owner.token)
            #expect(promoted.status == .ok)
            let guestPost = try await api.send(
                .post, "/api/v1/channels/\(id)/posts", json: ["content": "guest post", "client_msg_id": "guest-1"], token: reader.token
            )
            #expect(guestPost.status == .created)
            #expect(try await api.send(.get, "/api/v1/chats/\(id)/members", token: reader.token).status == .ok)
            // Demoted again: a retry of the post (its ack was lost) still gets it back, a new post is refused.
            _ = try await api.send(.patch, "/api/v1/chats/\(id)/members/\(reader.id)", json: ["role": "subscriber"], token: owner.token)
            let retry = try await api.send(
                .post, "/api/v1/channels/\(id)/posts", json: ["content": "guest post", "client_msg_id": "guest-1"], token: reader.token
            )
            #expect(retry.status == .ok)
            #expect(retry["id"] as? String == guestPost["id"] as? String)
            let newPost = try await api.send(
                .post, "/api/v1/channels/\(id)/posts", json: ["content": "again", "client_msg_id": "guest-2"], token: reader.token
            )
            #expect(newPost.status == .forbidden)
            // The channel shows up in the subscriber's chat list.
            let list = try await api.send(.get, "/api/v1/chats", token: reader.token)
            #expect((list["chats"] as? [[String: Any]])?.first?["type"] as? String == "channel")
        }
    }

    @Test(arguments: TestEngine.all)
    func channelSettingsAreForAdmins(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let reader = try await api.register(username: "reader_1")
            let id = try await api.createChannel(owner, username: "old_name")
            _ = try await api.send(.post, "/api/v1/channels/\(id)/subscribe", token: reader.token)
            let updated = try await api.send(.patch, "/api/v1/channels/\(id)", json: ["name": "Renamed", "description": "About", "username": "new_name"], token: owner.token)
            #expect(updated.status == .ok)
            #expect(updated["name"] as? String == "Renamed")
            #expect(updated["description"] as? String == "About")
            #expect(updated["username"] as? String == "new_name")
            let cleared = try await api.send(.patch, "/api/v1/channels/\(id)", json: ["username": nil], token: owner.token)
            #expect(cleared["username"] == nil)
            #expect(cleared["description"] as? String == "About")
            #expect(try await api.send(.patch, "/api/v1/channels/\(id)", json: ["name": "Mine"], token: reader.token).status == .forbidden)
            #expect(try await api.send(.patch, "/api/v1/channels/\(id)", json: ["description": String(repeating: "d", count: 1001)], token: owner.token).status == .unprocessableContent)
        }
    }

    @Test(arguments: TestEngine.all)
    func subscriberCountIsExactUnderConcurrentSubscribes(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let id = try await api.createChannel(owner)
            var readers: [SignedInUser] = []
            for index in 0..<24 { readers.append(try await api.register(username: "reader_\(index)")) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for reader in readers {
                    group.addTask {
                        _ = try await api.send(.post, "/api/v1/channels/\(id)/subscribe", token: reader.token)
                        _ = try await api.send(.post, "/api/v1/channels/\(id)/subscribe", token: reader.token)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await api.send(.get, "/api/v1/channels/\(id)", token: owner.token)["subscriber_count"] as? Int == 25)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for reader in readers.prefix(10) {
                    group.addTask { _ = try await api.send(.delete, "/api/v1/channels/\(id)/subscribe", token: reader.token) }
                }
                try await group.waitForAll()
            }
            #expect(try await api.send(.get, "/api/v1/channels/\(id)", token: owner.token)["subscriber_count"] as? Int == 15)
        }
    }
}

import Foundation
import HTTPTypes
import Testing

/// Who may do what, checked for every role at once: a stranger (non-member), a channel subscriber,
/// a group member, an admin and the owner.
@Suite("Authorization matrix")
struct AuthorizationMatrixTests {
    @Test(arguments: TestEngine.all)
    func groupActions(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let admin = try await api.register(username: "admin_1")
            let member = try await api.register(username: "member_1")
            let stranger = try await api.register(username: "stranger")
            let extra = try await api.register(username: "extra_1")
            let chat = try await api.createGroup(owner, members: [admin, member])
            _ = try await api.send(.patch, "/api/v1/chats/\(chat)/members/\(admin.id)", json: ["role": "admin"], token: owner.token)
            let message = try await api.post(owner, to: chat, "hello")

            typealias Check = (name: String, method: HTTPRequest.Method, path: String, body: [String: Any?]?)
            let checks: [(Check, [String: HTTPResponse.Status])] = [
                (("read chat", .get, "/api/v1/chats/\(chat)", nil),
                 ["stranger": .notFound, "member": .ok, "admin": .ok, "owner": .ok]),
                (("read history", .get, "/api/v1/chats/\(chat)/messages", nil),
                 ["stranger": .notFound, "member": .ok, "admin": .ok, "owner": .ok]),
                (("send", .post, "/api/v1/messages", ["chat_id": chat, "content": "hi"]),
                 ["stranger": .notFound, "member": .created, "admin": .created, "owner": .created]),
                (("rename", .patch, "/api/v1/chats/\(chat)", ["name": "Renamed"]),
                 ["stranger": .notFound, "member": .forbidden, "admin": .ok, "owner": .ok]),
                (("list members", .get, "/api/v1/chats/\(chat)/members", nil),
                 ["stranger": .notFound, "member": .ok, "admin": .ok, "owner": .ok]),
                (("add member", .post, "/api/v1/chats/\(chat)/members", ["user_ids": [extra.id]]),
                 ["stranger": .notFound, "member": .forbidden, "admin": .ok, "owner": .ok]),
                (("promote", .patch, "/api/v1/chats/\(chat)/members/\(member.id)", ["role": "member"]),
                 ["stranger": .notFound, "member": .forbidden, "admin": .forbidden, "owner": .ok]),
                (("edit another's message", .patch, "/api/v1/messages/\(message)", ["content": "changed"]),
                 ["stranger": .notFound, "member": .forbidden, "admin": .forbidden]),
                (("read a message", .get, "/api/v1/messages/\(message)", nil),
                 ["stranger": .notFound, "member": .ok, "admin": .ok, "owner": .ok]),
            ]
            let users = ["stranger": stranger, "member": member, "admin": admin, "owner": owner]
            for (check, expected) in checks {
                for (role, status) in expected {
                    let response = try await api.send(check.method, check.path, json: check.body, token: users[role]!.token)
                    #expect(response.status == status, "\(check.name) as \(role): \(response.status) \(response.json)")
                }
            }
            // Deleting another's message for everyone: admins yes, members no.
            #expect(try await api.send(.delete, "/api/v1/messages/\(message)", token: member.token).status == .forbidden)
            #expect(try await api.send(.delete, "/api/v1/messages/\(message)", token: stranger.token).status == .notFound)
            #expect(try await api.send(.delete, "/api/v1/messages/\(message)", token: admin.token).status == .noContent)
        }
    }

    @Test(arguments: TestEngine.all)
    func channelActions(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let owner = try await api.register(username: "owner_1")
            let admin = try await api.register(username: "admin_1")
            let subscriber = try await api.register(username: "subscriber")
            let stranger = try await api.register(username: "stranger")
            let channel = try await api.createChannel(owner, username: "the_channel")
            for user in [admin, subscriber] { _ = try await api.send(.post, "/api/v1/channels/\(channel)/subscribe", token: user.token) }
            _ = try await api.send(.patch, "/api/v1/chats/\(channel)/members/\(admin.id)", json: ["role": "admin"], token: owner.token)

            typealias Check = (name: String, method: HTTPRequest.Method, path: String, body: [String: Any?]?)
            let checks: [(Check, [String: HTTPResponse.Status])] = [
                (("see channel", .get, "/api/v1/channels/\(channel)", nil),
                 ["stranger": .ok, "subscriber": .ok, "admin": .ok, "owner": .ok]),
                (("read posts", .get, "/api/v1/channels/\(channel)/posts", nil),
                 ["stranger": .forbidden, "subscriber": .ok, "admin": .ok, "owner": .ok]),
                (("post", .post, "/api/v1/channels/\(channel)/posts", ["content": "news"]),
                 ["stranger": .forbidden, "subscriber": .forbidden, "admin": .created, "owner": .created]),
                (("edit channel", .patch, "/api/v1/channels/\(channel)", ["description": "d"]),
                 ["stranger": .forbidden, "subscriber": .forbidden, "admin": .ok, "owner": .ok]),
                (("list subscribers", .get, "/api/v1/chats/\(channel)/members", nil),
                 ["stranger": .notFound, "subscriber": .forbidden, "admin": .ok, "owner": .ok]),
                (("add members", .post, "/api/v1/chats/\(channel)/members", ["user_ids": [stranger.id]]),
                 ["subscriber": .forbidden, "admin": .forbidden, "owner": .forbidden]),
            ]
            let users = ["stranger": stranger, "subscriber": subscriber, "admin": admin, "owner": owner]
            for (check, expected) in checks {
                for (role, status) in expected {
                    let response = try await api.send(check.method, check.path, json: check.body, token: users[role]!.token)
                    #expect(response.status == status, "\(check.name) as \(role): \(response.status) \(response.json)")
                }
            }
        }
    }
}

import HTTPTypes
import Synchronization
import Testing

/// Row locks are taken in one order (a chat's row, people's rows, member rows; see
/// `UpdateLog.lockChatFirst`). In another order, on PostgreSQL, a person who sent while their
/// read mark moved, their role changed or they left, or who changed their chat settings while
/// their draft was saved, waited on each other's locks until PostgreSQL aborted one of the two:
/// a 500.
@Suite struct LockOrderTests {
    @Test(arguments: TestEngine.all)
    func sendingBesideReadsRolesAndLeavingNeverFails(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let chat = try await api.createGroup(alice, name: "Busy", members: [bob, carol])
            let rounds = 30
            let tally = Tally()
            let note: @Sendable (String, HTTPResponse.Status) -> Void = { tally.note($0, $1) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for index in 0..<rounds { note("bob sends", try await api.sendMessage(bob, to: chat, "from bob \(index)").status) }
                }
                group.addTask {
                    for index in 1...rounds {
                        note("bob reads", try await api.send(.post, "/api/v1/chats/\(chat)/read", json: ["seq": index], token: bob.token).status)
                    }
                }
                group.addTask {
                    for index in 0..<rounds {
                        let role = index % 2 == 0 ? "admin" : "member"
                        note("bob's role", try await api.send(.patch, "/api/v1/chats/\(chat)/members/\(bob.id)", json: ["role": role], token: alice.token).status)
                    }
                }
                group.addTask {
                    for index in 0..<rounds { note("carol sends", try await api.sendMessage(carol, to: chat, "from carol \(index)").status) }
                }
                group.addTask {
                    // Carol leaves while she sends: her sends after it are refused, none fails.
                    try await Task.sleep(for: .milliseconds(20))
                    note("carol leaves", try await api.send(.delete, "/api/v1/chats/\(chat)/members/\(carol.id)", token: carol.token).status)
                }
                try await group.waitForAll()
            }
            let seen = tally.seen
            #expect(seen["bob sends"]?.allSatisfy { $0 == .created } == true, "\(seen["bob sends"] ?? [])")
            #expect(seen["bob reads"]?.allSatisfy { $0 == .ok } == true, "\(seen["bob reads"] ?? [])")
            #expect(seen["bob's role"]?.allSatisfy { $0 == .ok } == true, "\(seen["bob's role"] ?? [])")
            #expect(seen["carol leaves"] == [.noContent])
            #expect(seen["carol sends"]?.allSatisfy { [.created, .notFound, .forbidden].contains($0) } == true, "\(seen["carol sends"] ?? [])")
        }
    }
}

extension LockOrderTests {
    /// One's own chat settings and draft (the person's row, then the member's) beside reading,
    /// leaving and being added twice at once; in a channel, reading and role changes too.
    @Test(arguments: TestEngine.all)
    func settingsDraftsAddsAndChannelsBesideEachOtherNeverFail(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let dave = try await api.register(username: "dave_12")
            let erin = try await api.register(username: "erin_12")
            let chat = try await api.createGroup(alice, name: "Busy", members: [bob, carol])
            let channel = try await api.createChannel(alice)
            try #require(try await api.send(.post, "/api/v1/channels/\(channel)/subscribe", token: bob.token).status == .ok)
            for index in 0..<3 { _ = try await api.post(alice, to: chat, "hello \(index)") }
            for index in 0..<3 { _ = try await api.sendMessage(alice, to: channel, "post \(index)") }
            let rounds = 20
            let tally = Tally()
            let note: @Sendable (String, HTTPResponse.Status) -> Void = { tally.note($0, $1) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (name, who, target) in [("bob", bob, chat), ("bob", bob, channel), ("carol", carol, chat)] {
                    group.addTask {
                        for index in 0..<rounds {
                            let settings = try await api.send(.patch, "/api/v1/chats/\(target)/settings", json: ["pinned": index % 2 == 0], token: who.token)
                            note("\(name) settings", settings.status)
                        }
                    }
                    group.addTask {
                        for index in 0..<rounds {
                            let draft = try await api.send(.put, "/api/v1/chats/\(target)/draft", json: ["text": "draft \(index)"], token: who.token)
                            note("\(name) draft", draft.status)
                        }
                    }
                }
                group.addTask {
                    for index in 1...rounds {
                        note("bob reads", try await api.send(.post, "/api/v1/chats/\(channel)/read", json: ["seq": index % 3 + 1], token: bob.token).status)
                    }
                }
                group.addTask {
                    for index in 0..<rounds {
                        let role = index % 2 == 0 ? "admin" : "subscriber"
                        note("bob's channel role", try await api.send(.patch, "/api/v1/chats/\(channel)/members/\(bob.id)", json: ["role": role], token: alice.token).status)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(30))
                    note("carol leaves", try await api.send(.delete, "/api/v1/chats/\(chat)/members/\(carol.id)", token: carol.token).status)
                }
                group.addTask {
                    // The same people added by two requests at once, then removed for the next round.
                    for _ in 0..<rounds / 2 {
                        try await withThrowingTaskGroup(of: Void.self) { adds in
                            for people in [[dave, erin], [erin], [erin, dave]] {
                                adds.addTask {
                                    let added = try await api.send(.post, "/api/v1/chats/\(chat)/members", json: ["user_ids": people.map(\.id)], token: alice.token)
                                    note("adds", added.status)
                                }
                            }
                            try await adds.waitForAll()
                        }
                        for person in [dave, erin] {
                            note("removals", try await api.send(.delete, "/api/v1/chats/\(chat)/members/\(person.id)", token: alice.token).status)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = tally.seen
            for what in ["bob settings", "bob draft", "bob reads", "bob's channel role", "adds"] {
                #expect(seen[what]?.allSatisfy { [.ok, .noContent].contains($0) } == true, "\(what): \(seen[what] ?? [])")
            }
            #expect(seen["removals"]?.allSatisfy { $0 == .noContent } == true, "\(seen["removals"] ?? [])")
            #expect(seen["carol leaves"] == [.noContent])
            // Carol's own changes after she left are refused, none fails.
            for what in ["carol settings", "carol draft"] {
                #expect(seen[what]?.allSatisfy { [.ok, .noContent, .notFound].contains($0) } == true, "\(what): \(seen[what] ?? [])")
            }
        }
    }
}

/// The statuses each kind of request got.
private final class Tally: Sendable {
    private let statuses = Mutex<[String: [HTTPResponse.Status]]>([:])

    func note(_ what: String, _ status: HTTPResponse.Status) { statuses.withLock { $0[what, default: []].append(status) } }
    var seen: [String: [HTTPResponse.Status]] { statuses.withLock { $0 } }
}

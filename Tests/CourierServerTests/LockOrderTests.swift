import HTTPTypes
import Synchronization
import Testing

/// Transactions that touch both a chat's row and a member's row take the chat's first, as sending
/// does (its `seq`, then the sender's read mark). In the other order, on PostgreSQL, a person who
/// sent while their read mark moved, their role changed or they left waited on each other's locks
/// until PostgreSQL aborted one of the two: a 500.
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

/// The statuses each kind of request got.
private final class Tally: Sendable {
    private let statuses = Mutex<[String: [HTTPResponse.Status]]>([:])

    func note(_ what: String, _ status: HTTPResponse.Status) { statuses.withLock { $0[what, default: []].append(status) } }
    var seen: [String: [HTTPResponse.Status]] { statuses.withLock { $0 } }
}

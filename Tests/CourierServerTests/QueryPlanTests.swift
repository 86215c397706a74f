import CourierServer
import CourierStore
import Foundation
import Testing

/// The hot paths' statements find their rows through an index on SQLite, never by reading a
/// table or an index through, nor by sorting their results apart.
///
/// SQLite's connections keep their plans whatever values are bound (`SQLiteDirectConnection` turns
/// on the query planner's stability guarantee, so a kept statement is not compiled again), which
/// means a plan is chosen without seeing a `LIMIT`'s value: these checks hold the plans of sending,
/// history pages, edits and deletes, the update log and search to what the schema's indexes were
/// made for.
@Suite("Query plans")
struct QueryPlanTests {
    /// Plan lines that read rows without an index's search, or sort them apart.
    static func isFullRead(_ line: String) -> Bool {
        if line.hasPrefix("USE TEMP B-TREE FOR ORDER BY") || line.hasPrefix("USE TEMP B-TREE FOR LAST") { return true }
        guard line.hasPrefix("SCAN ") else { return false }
        // A virtual table (FTS5's `search_documents`) read through its own index: its plan
        // names a MATCH (`M`) or a rowid (`=`) after the index number.
        if let range = line.range(of: " VIRTUAL TABLE INDEX ") {
            let constraints = line[range.upperBound...].drop { $0 != ":" }
            return !(constraints.contains("M") || constraints.contains("="))
        }
        // A constant row or the rows of a `VALUES` list.
        return !(line.hasPrefix("SCAN CONSTANT ROW") || line.hasSuffix("VALUES CLAUSE"))
    }

    /// Statements allowed to sort (or read a subquery's rows through), each for a reason that
    /// bounds what it sorts; recognized by a piece of their text.
    static let reviewed: [(fragment: String, why: String)] = [
        (") b0 ORDER BY created_at DESC", "search merges what each chat's index range gave, at most its LIMIT a chat"),
        ("ORDER BY c.last_activity_at DESC, c.id LIMIT", "search orders the searcher's own chats, found through their memberships"),
        ("FROM message_reactions WHERE message_id IN", "a page's reactions (at most a page of messages) in the order they were made"),
        (") page ON TRUE", "a history page's rows (at most its LIMIT, found through the chat's seq index) joined to the chat's one row"),
    ]

    @Test func everyHotPathSearchesAnIndex() async throws {
        let counter = StatementCounter()
        try await TestEngine.sqlite.withDatabase(wrapping: { StatementCountingEngine(base: $0, counter: counter) }) { store, _ in
            try await EncryptionTests.withApp(store) { api in
                let alice = try await api.register(username: "alice_1")
                var members: [SignedInUser] = []
                for index in 0..<9 { members.append(try await api.register(username: "member_\(index)")) }
                let chat = try await api.createGroup(alice, name: "Ten", members: members)
                counter.recordsPlans = true
                var sent: [String] = []
                for index in 0..<60 { sent.append(try await api.post(alice, to: chat, "needle message \(index) for @member_\(index % 9)")) }
                #expect(try await api.send(.patch, "/api/v1/messages/\(sent[0])", json: ["content": "needle edited"], token: alice.token).status == .ok)
                #expect(try await api.send(.delete, "/api/v1/messages/\(sent[1])?for=everyone", token: alice.token).status == .noContent)
                let bob = members[0]
                for query in ["?limit=50", "?limit=50&offset=5", "?limit=20&before_seq=40"] {
                    #expect(try await api.history(bob, chat, query: query).status == .ok)
                }
                #expect(try await api.send(.get, "/api/v1/search?q=needle", token: bob.token).status == .ok)
                #expect(try await api.send(.get, "/api/v1/search?q=needle&chat_id=\(chat)", token: bob.token).status == .ok)
                #expect(try await api.send(.get, "/api/v1/updates?account_pts=0&chats=\(chat):0", token: bob.token).status == .ok)
            }
        }
        let plans = counter.queryPlans
        #expect(plans.count > 10, "the paths ran and their plans were read")
        for (fragment, _) in Self.reviewed {
            #expect(plans.keys.contains { $0.contains(fragment) }, "a reviewed statement ran: \(fragment)")
        }
        for (sql, lines) in plans.sorted(by: { $0.key < $1.key }) {
            guard !Self.reviewed.contains(where: { sql.contains($0.fragment) }) else { continue }
            let full = lines.filter(Self.isFullRead)
            #expect(full.isEmpty, "\(sql)\n  reads without an index: \(full)")
        }
    }
}

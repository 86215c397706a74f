import CourierServer
import CourierStore
import HTTPTypes
import Synchronization
import Testing

/// Ceilings on the SQL work of the hot paths, counted rather than timed (`StatementCounter`), so
/// they hold on any machine: a change that adds a statement or a transaction to sending a message
/// or reading a history page fails here, on a noisy CI machine too.
///
/// Each ceiling is what the path costs today. Lower it when a change saves a statement; raising
/// it needs a reason in the commit.
@Suite("Statement budgets")
struct StatementBudgetTests {
    /// A budget per engine: PostgreSQL sends with one statement committed by itself, where SQLite
    /// makes seven in its write transaction (its group commit costs less than a round trip).
    struct Budget: Sendable {
        let statements: Int
        let reads: Int
        let writes: Int
        var alone = 0
    }

    /// Sending a text with a mention over the REST API: the session (a read), and on SQLite one
    /// write transaction (the chat's next position with the previous message's time; the members
    /// with their roles, which are the members to deliver to and the sender's right to post; the
    /// message; the sender's read position; search entries; the mention; the update). Was nine
    /// statements in three reads and a write: the sender's membership before the write and the
    /// members after it were reads of their own; before that 10 statements: the previous
    /// message's time was a statement of its own. On PostgreSQL, all of that is one call of
    /// `courier_append_message` without `BEGIN` and `COMMIT` (was the same eight statements and
    /// a transaction: nine round trips).
    static func sendBudget(_ engine: TestEngine) -> Budget {
        switch engine {
        case .sqlite: Budget(statements: 8, reads: 1, writes: 1)
        case .postgres: Budget(statements: 2, reads: 1, writes: 0, alone: 1)
        }
    }

    /// Pages a send's commit writes to SQLite's log, alone, in a small database (a larger one adds
    /// a level to some indexes): 15.3 (splits of the B-trees vary it a little). Was 16.3 before
    /// `idx_messages_chat_created`, which no query read, went.
    static let sqliteLogPagesPerSend = 16.0

    /// A page of 50 without reactions: the session (a read), and one statement for the reader's
    /// membership with the count and the rows (a second one for the reactions when the page has
    /// some). Was four statements: the membership, the rows and the reactions apart; before that
    /// three reads and five statements, the membership in a read of its own; before that five
    /// reads and six statements: the reactions counted and the reader's own read apart.
    static func historyBudget(_ engine: TestEngine) -> Budget {
        switch engine {
        case .sqlite, .postgres: Budget(statements: 2, reads: 2, writes: 0)
        }
    }

    @Test(arguments: TestEngine.all)
    func sendingToAGroupOfTenStaysWithinItsBudget(engine: TestEngine) async throws {
        try await withCountedApp(engine) { api, counter, prepared in
            let alice = try await api.register(username: "alice_1")
            var members: [SignedInUser] = []
            for index in 0..<9 { members.append(try await api.register(username: "member_\(index)")) }
            let chat = try await api.createGroup(alice, name: "Ten", members: members)
            // Warm: the chat's keys made, caches filled, as on a server that has been running.
            for index in 0..<3 { try await api.post(alice, to: chat, "warm-up \(index)") }

            let messages = 20
            let pagesBefore = try await prepared.engine?.pagesWrittenToTheLog()
            let cost = try await counter.cost {
                for index in 0..<messages { try await api.post(alice, to: chat, "message \(index) for @member_\(index % 9)") }
            }
            Self.check(cost, of: messages, "\(engine) send", against: Self.sendBudget(engine))
            if let pagesBefore, let pagesAfter = try await prepared.engine?.pagesWrittenToTheLog() {
                // Each send commits alone here (one after another): the pages its transaction
                // dirtied, all written to SQLite's log. An index more on `messages` costs a page.
                let pages = Double(pagesAfter - pagesBefore) / Double(messages)
                print("log pages per send, sqlite: \(pages)")
                #expect(pages <= Self.sqliteLogPagesPerSend, "pages written to the log per send")
            }
            try await Self.expectFewPrepared(Self.sendBudget(engine).statements, by: {
                for index in 0..<5 { try await api.post(alice, to: chat, "again \(index) for @member_\(index)") }
            }, prepared, "5 sends")
            // Texts of every length: their search entries make one of a few statement shapes, not
            // one per entry count (30 lengths prepared about 30 inserts before they were padded).
            try await Self.expectFewPrepared(12, by: {
                for words in 1...30 {
                    let text = (0..<words).map { "w\(words)x\($0)" }.joined(separator: " ")
                    try await api.post(alice, to: chat, text)
                }
            }, prepared, "30 sends of different lengths")
        }
    }

    /// Sends that are refused (a stranger, a member removed since posting) cost a read each and
    /// never a write transaction: they do not queue in the writer every send passes through.
    @Test(arguments: TestEngine.all)
    func refusedSendsNeverReachTheWriter(engine: TestEngine) async throws {
        try await withCountedApp(engine) { api, counter, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_1")
            let stranger = try await api.register(username: "stranger_1")
            let chat = try await api.createGroup(alice, name: "Closed", members: [bob])
            try await api.post(alice, to: chat, "the chat's keys exist")
            try await api.post(bob, to: chat, "bob has posted here")
            let removal = try await api.send(.delete, "/api/v1/chats/\(chat)/members/\(bob.id)", token: alice.token)
            try #require(removal.status == .noContent)
            // Bob's first refusal happens in the writer (the process saw him post); it forgets him.
            #expect(try await api.sendMessage(bob, to: chat, "first try").status == .notFound)

            let attempts = 10
            let statuses = Mutex<[HTTPResponse.Status]>([])
            let cost = try await counter.cost {
                for index in 0..<attempts {
                    let status = try await api.sendMessage(index % 2 == 0 ? stranger : bob, to: chat, "let me in \(index)").status
                    statuses.withLock { $0.append(status) }
                }
            }
            #expect(statuses.withLock { $0 } == Array(repeating: .notFound, count: attempts))
            print("refused sends, \(engine): \(cost.reads) reads, \(cost.writes + cost.alone) writes for \(attempts)")
            #expect(cost.writes == 0)
            #expect(cost.alone == 0)
            #expect(cost.reads <= 2 * attempts)
        }
    }

    @Test(arguments: TestEngine.all)
    func aHistoryPageStaysWithinItsBudget(engine: TestEngine) async throws {
        try await withCountedApp(engine) { api, counter, prepared in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_1")
            let chat = try await api.createGroup(alice, name: "Two", members: [bob])
            for index in 0..<120 { try await api.post(index % 2 == 0 ? alice : bob, to: chat, "message \(index)") }
            _ = try await api.history(bob, chat, query: "?limit=50")

            let pages = 10
            let cost = try await counter.cost {
                for page in 0..<pages {
                    let response = try await api.history(bob, chat, query: "?limit=50&offset=\(page % 3 * 50)")
                    try #require(response.status == .ok)
                }
            }
            Self.check(cost, of: pages, "\(engine) history page", against: Self.historyBudget(engine))
            try await Self.expectFewPrepared(Self.historyBudget(engine).statements, by: {
                for page in 0..<5 { _ = try await api.history(bob, chat, query: "?limit=50&offset=\(page % 3 * 50)") }
            }, prepared, "5 history pages")

            // Reactions on the page: one statement more.
            let newest = try await api.history(bob, chat, query: "?limit=1").messages.compactMap { $0["id"] as? String }
            try #require(try await api.send(.put, "/api/v1/messages/\(newest[0])/reaction", json: ["emoji": "👍"], token: alice.token).status == .ok)
            let reacted = try await counter.cost {
                for _ in 0..<pages { try #require(try await api.history(bob, chat, query: "?limit=50").status == .ok) }
            }
            let budget = Self.historyBudget(engine)
            Self.check(
                reacted, of: pages, "\(engine) history page with reactions", against: Budget(statements: budget.statements + 1, reads: budget.reads, writes: 0)
            )
        }
    }

    /// Runs `body` against the REST API of a store whose every statement `counter` counts.
    private func withCountedApp(
        _ engine: TestEngine, _ body: @Sendable (APIClient, StatementCounter, PreparedStatements) async throws -> Void
    ) async throws {
        let counter = StatementCounter()
        let prepared = PreparedStatements()
        try await engine.withDatabase(wrapping: { base in
            prepared.engine = base as? SQLiteEngine
            return StatementCountingEngine(base: base, counter: counter)
        }) { store, _ in
            try await EncryptionTests.withApp(store) { api in try await body(api, counter, prepared) }
        }
    }

    /// SQLite's statements are prepared once per connection and then reused. Once a path ran, five
    /// more runs of it prepare at most `ceiling` statements: a reader connection that had not run
    /// one yet may prepare it, while preparing every time would cost five runs' worth
    /// (PostgreSQL is not counted here).
    private static func expectFewPrepared(
        _ ceiling: Int, by work: () async throws -> Void, _ prepared: PreparedStatements, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        guard let engine = prepared.engine else { return try await work() }
        let before = try await engine.preparedStatementCount()
        try await work()
        let after = try await engine.preparedStatementCount()
        print("prepared statements, sqlite \(what): \(after - before)")
        #expect(after - before <= ceiling, "statements prepared again by \(what)", sourceLocation: sourceLocation)
    }

    /// Expects `cost`, for `count` repetitions of `what`, within `budget` each; prints the cost.
    private static func check(
        _ cost: StatementCounter.Counts, of count: Int, _ what: String, against budget: Budget, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let each = { (total: Int) in Double(total) / Double(count) }
        print(
            "statement budget, \(what): \(each(cost.statements)) statements, \(each(cost.reads)) reads, \(each(cost.writes)) writes, "
                + "\(each(cost.alone)) statements committed alone each"
        )
        #expect(cost.statements <= budget.statements * count, "statements per \(what)", sourceLocation: sourceLocation)
        #expect(cost.reads <= budget.reads * count, "read transactions per \(what)", sourceLocation: sourceLocation)
        #expect(cost.writes <= budget.writes * count, "write transactions per \(what)", sourceLocation: sourceLocation)
        #expect(cost.alone <= budget.alone * count, "statements committed alone per \(what)", sourceLocation: sourceLocation)
    }
}

/// The SQLite engine under a counted store, when the test runs on SQLite.
private final class PreparedStatements: @unchecked Sendable {
    private let lock = Mutex<SQLiteEngine?>(nil)
    var engine: SQLiteEngine? {
        get { lock.withLock { $0 } }
        set { lock.withLock { $0 = newValue } }
    }
}

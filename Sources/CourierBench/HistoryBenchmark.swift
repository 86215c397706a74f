import AsyncHTTPClient
import CourierCore
import CourierStore
import Foundation
import Histogram
import NIOCore
import NIOFoundationCompat
import SQLKit

/// `courier bench history`: a chat with M messages (written through the store's bulk path, straight
/// into the server's database), then pages of 50 fetched over the API at random depths, by offset
/// and by cursor (`before_seq`).
public struct HistoryBenchmark: Sendable {
    public struct Settings: Sendable, Codable {
        public var messages = 1_000_000
        public var requests = 500
        public var pageSize = 50
        /// Fetches in flight at once.
        public var concurrency = 1
        /// Measurements over the same chat (it is filled once); the result reports each.
        public var rounds = 1

        public init() {}
    }

    /// One measurement of both paging styles.
    public struct Round: Sendable, Codable {
        public let offset: Percentiles
        public let cursor: Percentiles
    }

    public struct Result: Sendable, Codable {
        public let messages: Int
        public let fillSeconds: Double
        public let rounds: [Round]

        /// The round with the median cursor p95 (the figure the target is about).
        public var medianRound: Round { rounds[medianRoundIndex] }

        var medianRoundIndex: Int {
            rounds.indices.sorted { rounds[$0].cursor.p95 < rounds[$1].cursor.p95 }[rounds.count / 2]
        }
        public var offset: Percentiles { medianRound.offset }
        public var cursor: Percentiles { medianRound.cursor }
    }

    let target: BenchTarget
    let store: Store
    let settings: Settings
    let log: @Sendable (String) -> Void

    /// `store` must be the database the server at `target` uses.
    public init(target: BenchTarget, store: Store, settings: Settings, log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.target = target
        self.store = store
        self.settings = settings
        self.log = log
    }

    public func run() async throws -> Result {
        guard settings.messages >= settings.pageSize, (1...100).contains(settings.pageSize) else {
            throw BenchError("history needs at least one page of messages and a page size of 1 to 100.")
        }
        let owner = try await target.registerUsers(count: 1, concurrency: 1)[0]
        let chatID = try await target.client.createGroup(named: "bench history", members: [], token: owner.token)
        guard let chat = UUID(uuidString: chatID), let sender = UUID(uuidString: owner.id) else {
            throw BenchError("The server answered with ids that are not UUIDs.")
        }

        log("history: writing \(settings.messages) messages…")
        let fillStarted = MonotonicClock.nanoseconds()
        var written = 0
        while written < settings.messages {
            let batch = min(MessageStore.bulkBatchLimit, settings.messages - written)
            let contents = (0..<batch).map { "History message \(written + $0 + 1): the quick brown fox jumps over the lazy dog." }
            try await store.messages.appendBulk(contents, to: chat, from: sender, at: .now())
            written += batch
            if written % 100_000 == 0 { log("history: \(written) written") }
        }
        let fillSeconds = Double(MonotonicClock.nanoseconds() - fillStarted) / 1e9
        if store.engine.kind == .postgres {
            // The planner's statistics, as autovacuum keeps them on a server that has been running:
            // right after the fill they may not cover its rows yet, and runs that started before
            // autovacuum came by served pages of 20,000 messages in 10 ms instead of 3. Only the
            // tables a page reads: the whole database may be other schemas' too (the tests').
            try await store.engine.write { try await $0.raw("ANALYZE messages, chats, chat_members").run() }
        }

        let total = settings.messages
        let size = settings.pageSize
        var rounds: [Round] = []
        for round in 1...max(1, settings.rounds) {
            log("history: round \(round): \(settings.requests) pages by offset, then by cursor…")
            let offset = try await measure(chatID: chatID, token: owner.token) {
                "limit=\(size)&offset=\(Int.random(in: 0...(total - size)))"
            }
            let cursor = try await measure(chatID: chatID, token: owner.token) {
                "limit=\(size)&before_seq=\(Int.random(in: (size + 1)...(total + 1)))"
            }
            rounds.append(Round(offset: offset, cursor: cursor))
        }
        return Result(messages: total, fillSeconds: fillSeconds, rounds: rounds)
    }

    /// Fetches `requests` pages with queries from `query`. The clock stops at the response's last
    /// byte; checking that each page is full (decoding it) happens after, so the generator's own
    /// JSON work is not counted as the server's.
    private func measure(chatID: String, token: String, query: @escaping @Sendable () -> String) async throws -> Percentiles {
        let baseURL = target.baseURL
        let pageSize = settings.pageSize
        let latencies = try await concurrentMap(0..<settings.requests, concurrency: settings.concurrency) { _ in
            let text = query()
            var request = HTTPClientRequest(url: "\(baseURL)/api/v1/chats/\(chatID)/messages?\(text)")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let begin = MonotonicClock.nanoseconds()
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
            let elapsed = (MonotonicClock.nanoseconds() - begin) / 1000
            struct Page: Decodable { let messages: [Message] }
            struct Message: Decodable { let seq: Int64 }
            let page = response.status == .ok ? try? JSONDecoder().decode(Page.self, from: body) : nil
            guard let page, page.messages.count == pageSize else {
                throw BenchError("GET …/messages?\(text) answered \(response.status.code) with \(page?.messages.count ?? 0) messages, not \(pageSize).")
            }
            return elapsed
        }
        return Percentiles(microsecondSamples: latencies)
    }
}

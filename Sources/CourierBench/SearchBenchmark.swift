import AsyncHTTPClient
import CourierCore
import CourierStore
import Foundation
import NIOCore
import NIOFoundationCompat

/// `courier bench search`: one person in `chats` chats holding `messages` messages in all,
/// written through the store's bulk path (so through the search index, as a send would), then
/// searches of several kinds over the API, each timed to the response's last byte.
///
/// The text is made of a 5,000-word vocabulary drawn with Zipf frequencies (a few words are in
/// almost every other message, most are rare), eight words a message, and one "needle" word in one
/// message of ten thousand: the queries go from the most common word to the rarest.
public struct SearchBenchmark: Sendable {
    public struct Settings: Sendable, Codable {
        public var messages = 1_000_000
        public var chats = 100
        public var requests = 200
        public var pageSize = 20

        public init() {}
    }

    /// One kind of query and how long it took.
    public struct Kind: Sendable, Codable {
        public let name: String
        public let example: String
        /// Results on the first page, averaged.
        public let meanResults: Double
        public let latency: Percentiles
    }

    public struct Result: Sendable, Codable {
        public let messages: Int
        public let chats: Int
        public let fillSeconds: Double
        /// Index entries written (rows of `search_tokens`; on SQLite, the terms of `search_documents`).
        public let indexEntries: Int
        public let kinds: [Kind]
        /// Every query of every kind together.
        public let overall: Percentiles

        public var messagesPerSecond: Double { Double(messages) / fillSeconds }
    }

    let target: BenchTarget
    let store: Store
    let settings: Settings
    let log: @Sendable (String) -> Void

    public init(target: BenchTarget, store: Store, settings: Settings, log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.target = target
        self.store = store
        self.settings = settings
        self.log = log
    }

    static let vocabularySize = 5000
    static let wordsPerMessage = 8
    static let needleEvery = 10_000

    /// Word `rank` of the vocabulary: three syllables, all distinct.
    static func word(_ rank: Int) -> String {
        let syllables = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "ze", "ba", "de", "fi", "go", "hu", "ja", "ke", "li", "mo", "ne"]
        return syllables[rank % 20] + syllables[(rank / 20) % 20] + syllables[(rank / 400) % 20]
    }

    public func run() async throws -> Result {
        guard settings.messages >= settings.chats, settings.chats >= 1, (1...50).contains(settings.pageSize) else {
            throw BenchError("search needs at least one message per chat, at least one chat and a page size of 1 to 50.")
        }
        let owner = try await target.registerUsers(count: 1, concurrency: 1)[0]
        guard let sender = UUID(uuidString: owner.id) else { throw BenchError("The server answered with ids that are not UUIDs.") }
        var chats: [UUID] = []
        for number in 0..<settings.chats {
            let id = try await target.client.createGroup(named: "bench search \(number)", members: [], token: owner.token)
            guard let chat = UUID(uuidString: id) else { throw BenchError("The server answered with ids that are not UUIDs.") }
            chats.append(chat)
        }

        // Zipf (s = 1) over the vocabulary, from a fixed seed: the same text every run.
        var cumulative: [Double] = []
        var sum = 0.0
        for rank in 1...Self.vocabularySize {
            sum += 1 / Double(rank)
            cumulative.append(sum)
        }
        var random = SplitMix64(seed: 0xC0FFEE)
        func drawWord() -> String {
            let target = random.nextDouble() * sum
            var low = 0
            var high = cumulative.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] < target { low = middle + 1 } else { high = middle }
            }
            return Self.word(low)
        }

        log("search: writing \(settings.messages) messages into \(settings.chats) chats, indexed as they are written…")
        let fillStarted = MonotonicClock.nanoseconds()
        let perChat = settings.messages / settings.chats
        var written = 0
        for (number, chat) in chats.enumerated() {
            let count = number == chats.count - 1 ? settings.messages - perChat * (chats.count - 1) : perChat
            var done = 0
            while done < count {
                let batch = min(MessageStore.bulkBatchLimit, count - done)
                let contents = (0..<batch).map { index -> String in
                    let words = (0..<Self.wordsPerMessage).map { _ in drawWord() }.joined(separator: " ")
                    let serial = written + done + index
                    return serial % Self.needleEvery == 0 ? words + " needle\(serial / Self.needleEvery % 10)" : words
                }
                try await store.messages.appendBulk(contents, to: chat, from: sender, at: .now())
                done += batch
            }
            written += count
            if (number + 1) % max(1, chats.count / 10) == 0 { log("search: \(written) written") }
        }
        let fillSeconds = Double(MonotonicClock.nanoseconds() - fillStarted) / 1e9
        let entries = try await store.engine.write { sql in
            if store.engine.kind == .sqlite {
                // FTS5 keeps a document per message; its vocabulary counts each term's documents.
                try await sql.raw("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocabulary USING fts5vocab(main, search_documents, 'row')").run()
                return try await sql.raw("SELECT COALESCE(SUM(doc), 0) AS n FROM temp.search_vocabulary").first()?.decode(column: "n", as: Int.self) ?? 0
            }
            return try await sql.raw("SELECT COUNT(*) AS n FROM search_tokens").first()?.decode(column: "n", as: Int.self) ?? 0
        }
        log("search: \(entries) index entries; measuring…")

        let kinds: [(String, @Sendable (Int) -> String)] = [
            ("most common word", { _ in Self.word(0) }),
            ("common word (rank 10–20)", { Self.word(10 + $0 % 10) }),
            ("rare word (rank 2,000–4,999)", { Self.word(2000 + ($0 * 7919) % 3000) }),
            ("needle (1 in 100,000)", { "needle\($0 % 10)" }),
            ("two words", { Self.word($0 % 10) + " " + Self.word(100 + $0 % 50) }),
            ("typed prefix (4 letters)", { String(Self.word(50 + $0 % 50).prefix(4)) }),
        ]
        var results: [Kind] = []
        var all: [UInt64] = []
        for (name, query) in kinds {
            let (latencies, found) = try await measure(query, token: owner.token)
            all += latencies
            results.append(Kind(
                name: name, example: query(0), meanResults: Double(found) / Double(latencies.count), latency: Percentiles(microsecondSamples: latencies)
            ))
            log("search: \(name): p50 \(results.last!.latency.p50.ms) p95 \(results.last!.latency.p95.ms) ms")
        }
        return Result(
            messages: settings.messages, chats: settings.chats, fillSeconds: fillSeconds, indexEntries: entries, kinds: results,
            overall: Percentiles(microsecondSamples: all)
        )
    }

    /// Runs `requests` searches, one at a time; returns their latencies (µs) and the results found.
    private func measure(_ query: @Sendable (Int) -> String, token: String) async throws -> ([UInt64], Int) {
        var latencies: [UInt64] = []
        var found = 0
        for number in 0..<settings.requests {
            let text = query(number).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            var request = HTTPClientRequest(url: "\(target.baseURL)/api/v1/search?q=\(text)&limit=\(settings.pageSize)")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let begin = MonotonicClock.nanoseconds()
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
            latencies.append((MonotonicClock.nanoseconds() - begin) / 1000)
            struct Page: Decodable { let results: [Hit] }
            struct Hit: Decodable { let snippet: String }
            guard response.status == .ok, let page = try? JSONDecoder().decode(Page.self, from: body) else {
                throw BenchError("GET /api/v1/search?q=\(text) answered \(response.status.code).")
            }
            found += page.results.count
        }
        return (latencies, found)
    }
}

/// A small seeded generator (SplitMix64), so that every run writes the same text.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension SearchBenchmark.Result {
    public var table: TextTable {
        TextTable(
            header: ["query", "example", "results/page", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            rows: kinds.map { kind in
                [kind.name, kind.example, String(format: "%.1f", kind.meanResults), kind.latency.p50.ms, kind.latency.p95.ms, kind.latency.p99.ms, kind.latency.max.ms]
            } + [[
                "all (\(messages) messages, \(chats) chats; filled at \(messagesPerSecond.whole) msg/s, \(indexEntries) entries)", "", "",
                overall.p50.ms, overall.p95.ms, overall.p99.ms, overall.max.ms,
            ]]
        )
    }
}

@testable import CourierServer
import CourierStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Metrics")
struct MetricsTests {
    static let token = "metrics-token-0123456789abcdef"

    func withMetricsApp(_ engine: TestEngine, token: String? = Self.token, _ body: @Sendable (APIClient, AppServices) async throws -> Void) async throws {
        try await engine.withStore { store in
            let folder = try TemporaryFolder()
            let services = try await AppServices(
                store: store, jwtSecret: testJWTSecret, bcryptCost: 4, blobs: try FolderBlobStore(folder: folder.path + "/media"),
                mediaWorkFolder: folder.path + "/work"
            )
            let app = Application(router: buildRouter(services: services, metricsToken: token), logger: TestEngine.logger)
            try await app.test(.router) { client in try await body(APIClient(client: client), services) }
        }
    }

    static func scrape(_ api: APIClient) async throws -> String {
        let response = try await api.download("/metrics", token: token)
        try #require(response.status == .ok)
        return String(decoding: response.bytes, as: UTF8.self)
    }

    /// Series: the sample lines (not comments).
    static func series(_ text: String) -> [String] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    /// Label sets: a histogram's buckets, sum and count are one.
    static func labelSets(_ text: String) -> Set<String> {
        Set(series(text).map { line in
            var name = String(line.prefix { $0 != "{" && $0 != " " })
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
            let labels = line.firstIndex(of: "{").map { start in
                String(line[start...].prefix { $0 != "}" }).split(separator: ",").filter { !$0.hasPrefix("le=") && !$0.hasPrefix("{le=") }.joined(separator: ",")
            } ?? ""
            return name + labels
        })
    }

    @Test func unknownPathsAndMadeUpMethodsAddAtMostAHandfulOfSeries() async throws {
        try await withMetricsApp(.sqlite) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let before = Self.labelSets(try await Self.scrape(api)).count
            let methods: [HTTPRequest.Method] = [.get, .post, .delete, .init("BREW")!, .init("X\(Int.random(in: 0...9))")!]
            var sent: [String] = []
            var afterFirstRound = 0
            for index in 0..<10_000 {
                let id = UUID().uuidString
                if index < 20 { sent.append(id) }
                let path: String
                switch index % 4 {
                case 0: path = "/\(id)/\(index)"
                case 1: path = "/api/v1/\(id)?q=\(index)"
                case 2: path = "/api/v1/chats/\(id)"
                default: path = "/assets/\(id).js"
                }
                _ = try await api.send(methods[index % methods.count], path, token: index % 2 == 0 ? alice.token : nil)
                if index == 199 { afterFirstRound = Self.labelSets(try await Self.scrape(api)).count }
            }
            let text = try await Self.scrape(api)
            let after = Self.labelSets(text).count
            // Every new series came with the first 200 requests; 9,800 more random ones add none.
            #expect(after - afterFirstRound <= 2, "series grew from \(afterFirstRound) to \(after) over the last 9,800 requests")
            #expect(after - before <= 40, "series grew from \(before) to \(after)")
            #expect(!text.contains("BREW"))
            for id in sent { #expect(!text.contains(id)) }
            // The labels are the route's template, never the path.
            #expect(text.contains(#"route="unmatched""#))
            #expect(text.contains(#"method="OTHER""#))
        }
    }

    @Test(arguments: TestEngine.all)
    func theTokenGuardsMetricsAndTheyCountWhatHappens(engine: TestEngine) async throws {
        try await withMetricsApp(engine) { api, _ in
            #expect(try await api.download("/metrics", token: nil).status == .unauthorized)
            #expect(try await api.download("/metrics", token: "metrics-token-0123456789abcdeX").status == .unauthorized)
            let alice = try await api.register(username: "alice_1")
            let chat = try await api.createGroup(alice)
            for index in 1...3 { try await api.post(alice, to: chat, "message \(index)") }
            _ = try await api.uploadMedia(Array(repeating: 7, count: 1000), by: alice)
            let text = try await Self.scrape(api)
            #expect(text.contains("courier_messages_stored_total 3"), "\(text.prefix(3000))")
            #expect(text.contains("courier_upload_bytes_total 1000"))
            #expect(text.contains("courier_websocket_connections 0"))
            #expect(Self.series(text).contains { $0.hasPrefix("courier_http_requests_total{") && $0.contains(#"method="POST""#) && $0.contains(#"status="201""#) && $0.contains("messages") })
            #expect(text.contains("courier_http_request_duration_seconds_bucket"))
            if engine == .sqlite { #expect(text.contains("courier_group_commit_batch_size_count")) }
        }
    }

    @Test func withoutATokenThereIsNoMetricsRoute() async throws {
        try await withMetricsApp(.sqlite, token: nil) { api, _ in
            let response = try await api.download("/metrics", token: Self.token)
            #expect(response.status == .notFound)
        }
    }

    @Test func settingsAreChecked() throws {
        #expect(throws: ConfigurationError.self) { try MetricsSettings.resolve(environment: ["COURIER_METRICS_TOKEN": "short"]) }
        #expect(throws: ConfigurationError.self) { try MetricsSettings.resolve(environment: ["COURIER_METRICS_ADDRESS": "9090"]) }
        let settings = try MetricsSettings.resolve(environment: ["COURIER_METRICS_ADDRESS": "127.0.0.1:9464", "COURIER_METRICS_TOKEN": Self.token])
        #expect(settings.address?.host == "127.0.0.1" && settings.address?.port == 9464 && settings.token == Self.token)
        #expect(try MetricsSettings.resolve(environment: [:]) == MetricsSettings())
    }

    /// The separate listener serves `/metrics` without a token, and nothing else.
    @Test func theSeparateListenerServesOnlyMetrics() async throws {
        let metrics = ServerMetrics()
        metrics.messagesStored.increment(by: 2)
        let app = buildMetricsListener(host: "127.0.0.1", port: 0, metrics: metrics, logger: TestEngine.logger)
        try await app.test(.live) { client in
            let scrape = try await client.execute(uri: "/metrics", method: .get)
            #expect(scrape.status == .ok)
            #expect(String(buffer: scrape.body).contains("courier_messages_stored_total 2"))
            #expect(try await client.execute(uri: "/api/v1/users/me", method: .get).status == .notFound)
        }
    }
}

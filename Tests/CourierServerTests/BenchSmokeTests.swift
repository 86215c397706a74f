import CourierBench
import CourierStore
import Foundation
import Testing

/// Each `courier bench` mode at a tiny size against a live server, so the tool cannot rot. These
/// check that the numbers add up, never how fast anything is: timing belongs to the benchmark.
@Suite("courier bench smoke runs")
struct BenchSmokeTests {
    @Test func w1DeliversEveryMessageToEveryOtherMember() async throws {
        try await TestEngine.sqlite.withStore { store in
            try await runCourier(store: store) { client, _ in
                var settings = W1Benchmark.Settings()
                settings.users = 12
                settings.groupSize = 4
                settings.rate = 40
                settings.warmupSeconds = 0.2
                settings.durationSeconds = 0.5
                settings.threads = 1
                let result = try await W1Benchmark(target: try BenchTarget(baseURL: client.baseURL), settings: settings, log: { _ in }).run()
                let step = try #require(result.steps.first)
                #expect(step.sent > 0)
                #expect(step.expected == step.sent * 3)
                #expect(step.delivered == step.expected)
                #expect(step.acked == step.sent && step.failedAcks == 0)
                #expect(step.delivery.count == UInt64(step.delivered))
                #expect(step.delivery.p50 <= step.delivery.p99 && step.delivery.p99 <= step.delivery.max)
                // Half a second measured: one second's p99, which is the whole run's (within the
                // coarser histogram's two digits).
                #expect(step.deliveryP99BySecond.count == 1)
                #expect(step.deliveryP99BySecond.allSatisfy { $0 > 0 && $0 <= step.delivery.max * 1.01 })
                #expect(result.table.rendered.contains("\(step.delivered)/\(step.expected)"))
            }
        }
    }

    @Test func connectionsMeasuresTheServersMemory() async throws {
        try await TestEngine.sqlite.withStore { store in
            try await runCourier(store: store) { client, _ in
                var settings = ConnectionsBenchmark.Settings()
                settings.connections = 30
                settings.users = 3
                // The server runs in this test process.
                settings.serverPID = ProcessInfo.processInfo.processIdentifier
                let result = try await ConnectionsBenchmark(
                    target: try BenchTarget(baseURL: client.baseURL), settings: settings, log: { _ in }
                ).run()
                #expect(result.connections == 30)
                #expect(result.rssBeforeBytes > 0 && result.rssAfterBytes > 0)
                #expect(result.openSeconds > 0)
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func historyFillsTheChatAndPagesThroughIt(engine: TestEngine) async throws {
        try await engine.withStore { store in
            try await runCourier(store: store) { client, _ in
                var settings = HistoryBenchmark.Settings()
                settings.messages = MessageStore.bulkBatchLimit + 20
                settings.requests = 8
                let target = try BenchTarget(baseURL: client.baseURL)
                let result = try await HistoryBenchmark(target: target, store: store, settings: settings, log: { _ in }).run()
                #expect(result.offset.count == 8 && result.cursor.count == 8)
                #expect(try await target.databaseEngine() == store.engine.kind.rawValue)
            }
        }
    }

    @Test func bulkWrittenMessagesReadBackInOrder() async throws {
        try await TestEngine.sqlite.withStore { store in
            try await runCourier(store: store) { client, _ in
                let owner = try await client.register(username: "bulk_owner", phone: "+14155550999", password: "bench-password-1")
                let chatID = try await client.createGroup(named: "bulk", members: [], token: owner.token)
                let last = try await store.messages.appendBulk(
                    ["one", "two", "three"], to: try #require(UUID(uuidString: chatID)), from: try #require(UUID(uuidString: owner.user.id)), at: .now()
                )
                #expect(last == 3)
                let page = try await client.history(of: chatID, query: "limit=10", token: owner.token)
                #expect(page.messages.map(\.content) == ["three", "two", "one"])
                #expect(page.messages.map(\.seq) == [3, 2, 1])
                #expect(page.total == 3)
            }
        }
    }

    @Test func loginCountsEverySignUpAndSignIn() async throws {
        try await TestEngine.sqlite.withStore { store in
            try await runCourier(store: store) { client, _ in
                var settings = LoginBenchmark.Settings()
                settings.users = 6
                settings.concurrency = 3
                let result = try await LoginBenchmark(target: try BenchTarget(baseURL: client.baseURL), settings: settings, log: { _ in }).run()
                #expect(result.register.count == 6 && result.login.count == 6)
                #expect(result.register.latency.count == 6 && result.login.latency.count == 6)
            }
        }
    }
}

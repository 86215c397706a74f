import Foundation
import NIOCore
import Testing

@testable import CourierRedis

/// Against a real `redis-server`: `scripts/test` starts one (with a password) and sets
/// `COURIER_TEST_REDIS_URL` and `COURIER_TEST_REDIS_PORT`; without it these are skipped.
@Suite("Redis client against redis-server", .enabled(if: RedisTestServer.configuration != nil, "COURIER_TEST_REDIS_URL is not set (scripts/test starts redis-server and sets it)"))
struct RedisClientTests {
    @Test func commandsPipelineAndErrors() async throws {
        let client = RedisClient(configuration: try #require(RedisTestServer.configuration))
        let key = "test:\(UUID().uuidString)"
        #expect(try await client.send(["SET", key, "hello"]) == .simpleString("OK"))
        #expect(try await client.send(["GET", key]).string == "hello")
        #expect(try await client.send(["GET", key + ":missing"]).isNull)
        let answers = try await client.pipeline((0..<100).map { _ in ["INCR", key + ":n"] })
        #expect(answers.last?.int == 100)
        await #expect(throws: RedisError.self) { try await client.send(["INCR", key]) }
        // Many tasks at once on a pool of a few connections: every answer reaches its asker.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let echoed = try await client.send(["ECHO", "value-\(index)"]).string
                    #expect(echoed == "value-\(index)")
                }
            }
            try await group.waitForAll()
        }
        await client.close()
    }

    @Test func aWrongPasswordIsRefused() async throws {
        var configuration = try #require(RedisTestServer.configuration)
        configuration.password = "wrong-password"
        let client = RedisClient(configuration: configuration)
        await #expect(throws: RedisError.self) { try await client.send(["PING"]) }
        #expect(!configuration.description.contains("wrong-password"))
    }

    @Test func aSlowCommandTimesOut() async throws {
        var configuration = try #require(RedisTestServer.configuration)
        configuration.commandTimeout = .milliseconds(200)
        let connection = try await RedisConnection.connect(configuration)
        await #expect(throws: RedisError.timeout) { try await connection.send(["BLPOP", "test:empty:\(UUID().uuidString)", "5"]) }
        #expect(!connection.isActive)
    }

    @Test func subscribersGetMessagesAndResubscribeAfterABreak() async throws {
        var configuration = try #require(RedisTestServer.configuration)
        let channel = "test:channel:\(UUID().uuidString)"
        // Named, so that the break below ends this subscriber only, not those of tests running alongside.
        configuration.clientName = "test-subscriber-\(UUID().uuidString.lowercased())"
        let subscriber = RedisSubscriber(configuration: configuration, channels: [channel])
        defer { subscriber.stop() }
        let client = RedisClient(configuration: try #require(RedisTestServer.configuration))
        var iterator = subscriber.events.makeAsyncIterator()
        // Publish until the subscription is in place (PUBLISH answers how many received it).
        try await eventually { try await client.send(["PUBLISH", channel, "first"]).int == 1 }
        #expect(await iterator.next() == .message(channel: channel, payload: ByteBuffer(string: "first")))

        // Redis drops the subscriber's connection (as a restart would): the subscriber comes back.
        #expect(try await client.cutConnections(named: try #require(configuration.clientName)) == 1)
        #expect(await iterator.next() == .resubscribed)
        try await eventually { try await client.send(["PUBLISH", channel, "second"]).int == 1 }
        #expect(await iterator.next() == .message(channel: channel, payload: ByteBuffer(string: "second")))
        await client.close()
    }

    func eventually(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("condition not met within 10 s")
    }
}

enum RedisTestServer {
    static let configuration: RedisConfiguration? = ProcessInfo.processInfo.environment["COURIER_TEST_REDIS_URL"].flatMap { RedisConfiguration(url: $0) }
}

@Suite("Redis settings")
struct RedisConfigurationTests {
    @Test func urlsAreParsed() throws {
        let plain = try #require(RedisConfiguration(url: "redis://127.0.0.1:6380/2"))
        #expect(plain.port == 6380 && plain.database == 2 && plain.password == nil && !plain.tls)
        let secret = try #require(RedisConfiguration(url: "rediss://courier:s%40cret@redis.example"))
        #expect(secret.username == "courier" && secret.password == "s@cret" && secret.tls && secret.port == 6379)
        #expect(!secret.description.contains("s@cret"))
        #expect(RedisConfiguration(url: "http://x") == nil)
        #expect(RedisConfiguration(url: "redis://host/db") == nil)
    }
}

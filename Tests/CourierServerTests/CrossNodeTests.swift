import CourierClient
import CourierRealtime
import CourierRedis
@testable import CourierServer
import CourierCore
import Crypto
import Foundation
import NIOCore
import Testing

/// Two Courier nodes on one PostgreSQL database, their buses on one Redis: what happens on one
/// reaches the sockets of the other, and a break in Redis costs nothing (the devices catch up from
/// the update log). `scripts/test` starts both servers; without them this is skipped.
@Suite(
    "Several nodes on PostgreSQL and Redis",
    // One test drops every subscription on the shared Redis: the others must not run meanwhile.
    .serialized,
    .enabled(if: TestEngine.postgresURL != nil && TestRedis.configuration != nil, "needs COURIER_TEST_DATABASE_URL and COURIER_TEST_REDIS_URL (scripts/test sets both)")
)
struct CrossNodeTests {
    @Test func messagesCrossNodesAndSurviveABreakInRedis() async throws {
        let redis = try #require(TestRedis.configuration)
        let channel = "courier:bus:test-\(UUID().uuidString.lowercased())"
        // The buses' connections carry a name of their own, so the break below ends theirs only.
        let busName = "test-bus-\(UUID().uuidString.lowercased())"
        var named = redis
        named.clientName = busName
        let busA = RedisBus(configuration: named, channel: channel)
        let busB = RedisBus(configuration: named, channel: channel)
        try await TestEngine.postgres.withStore { store in
            try await runCourier(store: store, bus: busA) { nodeA, _ in
                try await runCourier(store: store, bus: busB) { nodeB, _ in
                    let alice = try await nodeA.signUp("alice_1")
                    let bob = try await nodeA.signUp("bob_12")
                    let chat = try await nodeA.createGroup(named: "Across", members: [bob.user.id], token: alice.token)
                    // Bob's device follows the chat from the chat list, as a client does: whatever
                    // the bus misses, its next catch-up brings.
                    let device = await TestDevice(nodeB, token: bob.token, positions: try await nodeB.positions(following: chat, token: bob.token))
                    try await device.ready()

                    _ = try await nodeA.send("hello from node A", to: chat, token: alice.token)
                    try await device.recorder.wait("node A's message on node B") { $0.contains { $0.message?.content == "hello from node A" } }

                    // Redis drops the buses' connections (as a restart would); a message sent
                    // meanwhile may find no subscriber on node B, which then has its devices catch up.
                    let admin = RedisClient(configuration: redis)
                    #expect(try await admin.cutConnections(named: busName) >= 2)
                    _ = try await nodeA.send("sent during the break", to: chat, token: alice.token)
                    try await device.recorder.wait("the message of the break", seconds: 15) {
                        $0.contains { $0.message?.content == "sent during the break" }
                    }
                    #expect(await device.messages().filter { $0.content == "sent during the break" }.count == 1)
                    // Node B's subscription came back, and its device was told to catch up.
                    #expect(await device.recorder.closeCodes.contains(4009))
                    _ = try await nodeA.send("after the break", to: chat, token: alice.token)
                    try await device.recorder.wait("delivery is back") { $0.contains { $0.message?.content == "after the break" } }
                    await admin.close()
                    await device.stop()
                }
            }
        }
        await busA.close()
        await busB.close()
    }
}

extension CrossNodeTests {
    /// Every kind of update made on node A reaches a device on node B, and what crossed Redis holds
    /// positions only: a canary in a message, its edit and the chat's name never appears there.
    @Test func everyUpdateKindCrossesAndRedisCarriesNoContent() async throws {
        let redis = try #require(TestRedis.configuration)
        let channel = "courier:bus:test-\(UUID().uuidString.lowercased())"
        let busA = RedisBus(configuration: redis, channel: channel)
        let busB = RedisBus(configuration: redis, channel: channel)
        let listener = RedisSubscriber(configuration: redis, channels: [channel])
        let carried = Task {
            var payloads: [String] = []
            for await event in listener.events {
                if case .message(_, let payload) = event { payloads.append(String(buffer: payload)) }
            }
            return payloads
        }
        let canary = "canary-\(UUID().uuidString.lowercased())"
        try await TestEngine.postgres.withStore { store in
            try await runCourier(store: store, bus: busA) { nodeA, _ in
                try await runCourier(store: store, bus: busB) { nodeB, _ in
                    let alice = try await nodeA.signUp("alice_2")
                    let bob = try await nodeA.signUp("bob_22")
                    let carol = try await nodeA.signUp("carol_2")
                    let chat = try await nodeA.createGroup(named: "Group \(canary)", members: [bob.user.id], token: alice.token)
                    let device = await TestDevice(nodeB, token: bob.token, positions: try await nodeB.positions(following: chat, token: bob.token))
                    try await device.ready()

                    let sent = try await nodeA.send("secret \(canary)", to: chat, token: alice.token)
                    // Node B reads updates from the log, where a message is as it is now: once edited,
                    // a late read shows the edit in the new message's frame too (seen under load).
                    try await device.recorder.wait("the new message on node B") { $0.contains { $0.type == "new_message" } }
                    _ = try await Live.call(nodeA, .PATCH, "/api/v1/messages/\(sent.id)", json: ["content": "edited \(canary)"], token: alice.token)
                    _ = try await Live.call(nodeA, .POST, "/api/v1/chats/\(chat)/members", json: ["user_ids": [carol.user.id]], token: alice.token)
                    _ = try await Live.call(nodeA, .DELETE, "/api/v1/messages/\(sent.id)?for=everyone", token: alice.token)
                    try await device.recorder.wait("every kind of update on node B") { frames in
                        let types = Set(frames.map(\.type))
                        return ["new_message", "message_edited", "member_added", "message_deleted"].allSatisfy(types.contains)
                    }
                    let messages = await device.recorder.frames.compactMap(\.message)
                    #expect(messages.contains { $0.content == "secret \(canary)" })
                    #expect(messages.contains { $0.content == "edited \(canary)" })
                    // Bob's own read mark, made on node A, reaches his device on node B through his own log.
                    _ = try await Live.call(nodeA, .POST, "/api/v1/chats/\(chat)/read", json: ["seq": sent.seq], token: bob.token)
                    try await device.recorder.wait("bob's own read mark") { $0.contains { $0.type == "read" } }
                    await device.stop()
                }
            }
        }
        listener.stop()
        let payloads = await carried.value
        #expect(!payloads.isEmpty)
        #expect(payloads.allSatisfy { !$0.contains(canary) && !$0.contains("secret") && !$0.contains("Group ") })
        await busA.close()
        await busB.close()
    }
}

extension CourierClient {
    /// Positions that follow `chat` from where the chat list says it is, as a client starts.
    func positions(following chat: String, token: String) async throws -> RealtimeConnection.Positions {
        let listed = try await chats(token: token)
        return .init(chats: [chat: try #require(listed.first { $0.id == chat }?.pts)])
    }
}

/// The Redis `scripts/test` starts (`COURIER_TEST_REDIS_URL`), nil without it.
enum TestRedis {
    static let configuration = ProcessInfo.processInfo.environment["COURIER_TEST_REDIS_URL"].flatMap { RedisConfiguration(url: $0) }
}

/// Rate limits held in Redis are one budget across nodes, and a Redis that cannot be reached
/// leaves each node to its own buckets rather than refusing requests.
@Suite("Rate limits shared through Redis", .enabled(if: TestRedis.configuration != nil, "needs COURIER_TEST_REDIS_URL (scripts/test sets it)"))
struct SharedRateLimitTests {
    static let nameKey = SymmetricKey(size: .bits256)

    @Test func twoNodesShareOneBudget() async throws {
        let redis = try #require(TestRedis.configuration)
        let prefix = "courier:rate:test-\(UUID().uuidString.lowercased()):"
        var settings = RateLimitSettings()
        settings.user = .init(10, per: 60)
        let nodeA = RateLimiter(settings: settings, shared: RedisRateLimitBuckets(redis: RedisClient(configuration: redis), nameKey: Self.nameKey, prefix: prefix))
        let nodeB = RateLimiter(settings: settings, shared: RedisRateLimitBuckets(redis: RedisClient(configuration: redis), nameKey: Self.nameKey, prefix: prefix))
        for index in 0..<10 {
            try await (index % 2 == 0 ? nodeA : nodeB).take("user:alice", settings.user)
        }
        await #expect(throws: CourierError.self) { try await nodeA.take("user:alice", settings.user) }
        await #expect(throws: CourierError.self) { try await nodeB.take("user:alice", settings.user) }
        // Someone else's budget is their own.
        try await nodeB.take("user:bob", settings.user)
        // What a bucket limits never shows in Redis: its name is a keyed hash.
        try await nodeA.take("account-failures:unknown:phone(+14155550100)", settings.user)
        let names = try await RedisClient(configuration: redis).send(["KEYS", prefix + "*"])
        guard case .array(let keys?) = names else { Issue.record("no keys"); return }
        #expect(keys.count == 3)
        #expect(keys.allSatisfy { !($0.string ?? "").contains("4155550100") && !($0.string ?? "").contains("alice") })
        // A reset on one node (a good sign-in) clears it for all.
        await nodeA.reset("user:alice")
        try await nodeB.take("user:alice", settings.user)
    }

    @Test func anUnreachableRedisFallsBackToTheNodesOwnBuckets() async throws {
        var redis = RedisConfiguration(host: "127.0.0.1", port: 1)
        redis.commandTimeout = .milliseconds(200)
        var settings = RateLimitSettings()
        settings.user = .init(3, per: 60)
        let node = RateLimiter(settings: settings, shared: RedisRateLimitBuckets(redis: RedisClient(configuration: redis), nameKey: Self.nameKey))
        for _ in 0..<3 { try await node.take("user:carol", settings.user) }
        await #expect(throws: CourierError.self) { try await node.take("user:carol", settings.user) }
    }
}

import CourierRedis
@testable import CourierServer
import Foundation
import Testing

/// Presence in Redis, against the real redis-server `scripts/test` starts: devices come and go,
/// entries a node stops refreshing expire, and each person of a dead node is announced offline by
/// exactly one node.
@Suite("Presence shared through Redis", .enabled(if: TestRedis.configuration != nil, "needs COURIER_TEST_REDIS_URL (scripts/test sets it)"))
struct RedisPresenceTests {
    let prefix = "courier:presence:test-\(UUID().uuidString.lowercased()):"

    func directory(ttl: Duration = .seconds(20)) throws -> RedisPresenceDirectory {
        RedisPresenceDirectory(redis: RedisClient(configuration: try #require(TestRedis.configuration)), prefix: prefix, ttl: ttl)
    }

    @Test func aPersonIsOnlineWhileOneOfTheirDevicesIs() async throws {
        let nodeA = try directory(), nodeB = try directory()
        let alice = UUID(), bob = UUID()
        let phone = UUID(), laptop = UUID()
        #expect(try await nodeA.connected(userID: alice, connectionID: phone, isFirstHere: true))
        #expect(try await !nodeB.connected(userID: alice, connectionID: laptop, isFirstHere: true))
        #expect(try await nodeB.online(among: [alice, bob]) == [alice])
        #expect(try await !nodeA.disconnected(userID: alice, connectionID: phone, wasLastHere: true))
        #expect(try await nodeA.online(among: [alice]) == [alice])
        #expect(try await nodeB.disconnected(userID: alice, connectionID: laptop, wasLastHere: true))
        #expect(try await nodeA.online(among: [alice, bob]).isEmpty)
        #expect(try await nodeA.online(among: []).isEmpty)
    }

    @Test func devicesOfADeadNodeExpireAndAreAnnouncedOnce() async throws {
        // The surviving node's entries live long enough for a loaded machine's refreshes (every
        // 250 ms, here) to come in time; the dying node's are gone well before the loop ends.
        let dying = try directory(ttl: .milliseconds(1500))
        let alive = try directory(ttl: .seconds(4))
        let alice = UUID(), bob = UUID(), carol = UUID()
        let alicePhone = UUID(), aliceLaptop = UUID(), bobPhone = UUID(), carolPhone = UUID()
        _ = try await dying.connected(userID: alice, connectionID: alicePhone, isFirstHere: true)
        _ = try await alive.connected(userID: alice, connectionID: aliceLaptop, isFirstHere: true)
        _ = try await dying.connected(userID: bob, connectionID: bobPhone, isFirstHere: true)
        _ = try await alive.connected(userID: carol, connectionID: carolPhone, isFirstHere: true)
        // The surviving node keeps refreshing its devices; the dying one stops.
        for _ in 0..<8 {
            try await Task.sleep(for: .milliseconds(250))
            #expect(try await alive.refresh([(alice, aliceLaptop), (carol, carolPhone)]).isEmpty)
        }
        #expect(try await alive.online(among: [alice, bob, carol]) == [alice, carol])
        // Two nodes sweep at once: Bob (no device left) is announced by exactly one of them; Alice,
        // still on the surviving node, by neither.
        async let first = dying.expired()
        async let second = alive.expired()
        let announced = try await first + second
        #expect(announced == [bob])
        #expect(try await alive.expired().isEmpty)
    }

    @Test func aNodeCutOffForAWhileBringsItsPeopleBack() async throws {
        let node = try directory(ttl: .milliseconds(1000))
        let alice = UUID(), phone = UUID()
        _ = try await node.connected(userID: alice, connectionID: phone, isFirstHere: true)
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try await node.expired() == [alice])
        #expect(try await node.refresh([(alice, phone)]) == [alice])
        #expect(try await node.online(among: [alice]) == [alice])
        #expect(try await node.refresh([(alice, phone)]).isEmpty)
    }
}

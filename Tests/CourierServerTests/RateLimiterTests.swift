import CourierCore
@testable import CourierServer
import Testing

/// The node's own token buckets: what is dropped, and how often the limiter looks.
@Suite struct RateLimiterTests {
    private static let settings = RateLimitSettings()

    /// A flood of keys that are all in use (a refused token from each of many addresses) used to
    /// make every request past 100,000 buckets filter all of them again.
    @Test func aFloodOfNewKeysIsPrunedRarely() async throws {
        let limiter = RateLimiter(settings: Self.settings, shared: nil, bucketsBeforePruning: 100)
        let slow = RateLimitSettings.Limit(5, per: 60)
        for index in 0..<2_000 { try await limiter.take("flood:\(index)", slow) }
        #expect(await limiter.bucketCount == 2_000, "none is full again, none is dropped")
        #expect(await limiter.prunePasses <= 5, "passes at 101, 201, 401, 801 and 1,601 buckets")
    }

    @Test func fullBucketsAreDroppedAndSpentOnesKept() async throws {
        let limiter = RateLimiter(settings: Self.settings, shared: nil, bucketsBeforePruning: 100)
        let fast = RateLimitSettings.Limit(1_000, per: 1)
        let long = RateLimitSettings.Limit(2, per: 7_200)
        try await limiter.take("long", long)
        try await limiter.take("long", long)
        for index in 0..<99 { try await limiter.take("fast:\(index)", fast) }
        // 100 buckets: no pass yet. Each fast one is full again a millisecond after its take.
        try await Task.sleep(for: .milliseconds(50))
        try await limiter.take("fast:last", fast)
        #expect(await limiter.prunePasses == 1)
        #expect(await limiter.bucketCount == 2, "the long window's bucket and the last one")
        await #expect(throws: CourierError.self) { try await limiter.take("long", long) }
    }

    /// A window of any length the settings accept (up to `Int.max` seconds) refuses without
    /// overflowing: the second take crashed the server before.
    @Test func anEndlessWindowRefusesWithoutOverflowing() async throws {
        let limiter = RateLimiter(settings: Self.settings, shared: nil, bucketsBeforePruning: 100)
        let endless = RateLimitSettings.Limit(1, per: Int.max)
        try await limiter.take("endless", endless)
        await #expect(throws: CourierError.self) { try await limiter.take("endless", endless) }
        await #expect(throws: CourierError.self) { try await limiter.check("endless", endless) }
    }
}

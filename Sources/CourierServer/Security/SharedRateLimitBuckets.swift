/// Token buckets kept outside a node, so every node of a deployment draws on the same budget
/// (`RedisRateLimitBuckets`). Without one, each node keeps its own in memory.
public protocol SharedRateLimitBuckets: Sendable {
    /// Refills `key`'s bucket (`limit`) and, when `consume`, takes one event from it. Returns nil
    /// when an event was available, otherwise the seconds until one is.
    func take(_ key: String, _ limit: RateLimitSettings.Limit, consume: Bool) async throws -> Int?

    /// Forgets `key`.
    func reset(_ key: String) async throws
}

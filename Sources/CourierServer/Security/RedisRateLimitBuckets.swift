import CourierRedis
import Crypto
import Foundation

/// Rate-limit buckets in Redis: one hash per key (`t` tokens, `u` last update in ms), refilled and
/// taken from in one Lua script with Redis's own clock, so nodes whose clocks differ still agree
/// and two nodes taking at once cannot both take the last token.
///
/// A bucket's key names what it limits (an IP address, a phone number someone failed to sign in
/// with), so the name in Redis is a keyed hash of it: Redis (`MONITOR`, `SCAN`, a dump) never shows
/// who was limited. Every node derives the same `nameKey` from the master key.
public struct RedisRateLimitBuckets: SharedRateLimitBuckets {
    let redis: RedisClient
    let prefix: String
    let nameKey: SymmetricKey

    public init(redis: RedisClient, nameKey: SymmetricKey, prefix: String = "courier:rate:") {
        self.redis = redis
        self.nameKey = nameKey
        self.prefix = prefix
    }

    /// The Redis key of `key`'s bucket.
    func name(of key: String) -> String {
        prefix + HMAC<SHA256>.authenticationCode(for: Data(key.utf8), using: nameKey).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    static let script = """
        local capacity = tonumber(ARGV[1])
        local perMillisecond = tonumber(ARGV[2])
        local consume = tonumber(ARGV[3])
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
        local bucket = redis.call('HMGET', KEYS[1], 't', 'u')
        local tokens = tonumber(bucket[1]) or capacity
        local updated = tonumber(bucket[2]) or now
        tokens = math.min(capacity, tokens + math.max(0, now - updated) * perMillisecond)
        local wait = -1
        if tokens < 1 then
            wait = math.ceil((1 - tokens) / perMillisecond)
        elseif consume == 1 then
            tokens = tokens - 1
        end
        redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
        redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / perMillisecond) + 1000)
        return wait
        """

    public func take(_ key: String, _ limit: RateLimitSettings.Limit, consume: Bool) async throws -> Int? {
        let perMillisecond = Double(limit.count) / (Double(limit.seconds) * 1000)
        let answer = try await redis.send([
            "EVAL", Self.script, "1", name(of: key), String(limit.count), String(perMillisecond), consume ? "1" : "0",
        ])
        guard let wait = answer.int, wait >= 0 else { return nil }
        return max(1, Int((Double(wait) / 1000).rounded(.up)))
    }

    public func reset(_ key: String) async throws {
        try await redis.send(["DEL", name(of: key)])
    }
}

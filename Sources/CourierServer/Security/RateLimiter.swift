import CourierCore
import Foundation

/// Counts events per key in token buckets and says when a key has used up its budget.
///
/// One limiter serves every transport (REST middleware, WebSocket frames, sign-in), so a budget is
/// shared however a client talks to the server. The buckets are in this node's memory, or in
/// `shared` (Redis) so that several nodes hold one budget; when the shared store cannot be reached
/// the request goes through (a Redis outage must not take the API down) and the node's own
/// buckets count meanwhile.
public actor RateLimiter {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
        /// When it is full again, and so no different from no bucket at all.
        var fullAt: ContinuousClock.Instant
    }

    public let settings: RateLimitSettings
    private var buckets: [String: Bucket] = [:]
    private var premium: [UUID: (isPremium: Bool, checked: ContinuousClock.Instant)] = [:]
    private let clock = ContinuousClock()

    private let shared: (any SharedRateLimitBuckets)?
    /// After the shared buckets fail, they are not asked again for a few seconds: a Redis that does
    /// not answer must not add its timeout to every request.
    private var sharedAwayUntil: ContinuousClock.Instant?

    /// Buckets kept before the full ones are dropped; after a pass, the next waits until the
    /// count has doubled, so a flood of new keys (a refused token from each of a million
    /// addresses) costs each request a constant share of the passes, not a pass each.
    private let bucketsBeforePruning: Int
    private var nextPruneAt: Int
    /// Passes over the buckets so far (tests).
    private(set) var prunePasses = 0

    public init(settings: RateLimitSettings, shared: (any SharedRateLimitBuckets)? = nil) {
        self.init(settings: settings, shared: shared, bucketsBeforePruning: 100_000)
    }

    init(settings: RateLimitSettings, shared: (any SharedRateLimitBuckets)?, bucketsBeforePruning: Int) {
        self.settings = settings
        self.shared = shared
        self.bucketsBeforePruning = bucketsBeforePruning
        self.nextPruneAt = bucketsBeforePruning
    }

    /// How many keys have a bucket (tests).
    var bucketCount: Int { buckets.count }

    /// Takes one event from `key`'s budget, or throws 429 with the seconds until one is free.
    public func take(_ key: String, _ limit: RateLimitSettings.Limit) async throws(CourierError) {
        guard settings.enabled else { return }
        if try await sharedTake(key, limit, consume: true) { return }
        var bucket = try refilledBucket(key, limit)
        bucket.tokens -= 1
        bucket.fullAt = bucket.updated + Self.refillTime(of: Double(limit.count) - bucket.tokens, limit)
        buckets[key] = bucket
        if buckets.count > nextPruneAt { pruneFullBuckets(now: bucket.updated) }
    }

    /// How long `limit` takes to give back `tokens`, at most a century (a window of a billion
    /// years is allowed in the settings, and must not overflow an `Int`).
    private static func refillTime(of tokens: Double, _ limit: RateLimitSettings.Limit) -> Duration {
        .milliseconds(Int(min((tokens * Double(limit.seconds) * 1000 / Double(limit.count)).rounded(.up), Self.centuryMilliseconds)))
    }

    private static let centuryMilliseconds = 100 * 365.25 * 86_400 * 1000.0

    /// Whether `key` still has budget, without taking any (for "failures so far" checks).
    public func check(_ key: String, _ limit: RateLimitSettings.Limit) async throws(CourierError) {
        guard settings.enabled else { return }
        if try await sharedTake(key, limit, consume: false) { return }
        guard buckets[key] != nil else { return }
        buckets[key] = try refilledBucket(key, limit)
    }

    /// The shared buckets' answer: true when they decided (429 thrown when spent), false when there
    /// are none or they could not be reached (then this node's buckets decide).
    private func sharedTake(_ key: String, _ limit: RateLimitSettings.Limit, consume: Bool) async throws(CourierError) -> Bool {
        guard let shared else { return false }
        if let away = sharedAwayUntil, clock.now < away { return false }
        let wait: Int?
        do {
            wait = try await shared.take(key, limit, consume: consume)
            sharedAwayUntil = nil
        } catch {
            sharedAwayUntil = clock.now.advanced(by: .seconds(5))
            return false
        }
        if let wait {
            throw CourierError(.tooManyRequests(retryAfterSeconds: wait), code: "rate_limited", message: "Too many requests; try again in \(wait) seconds.")
        }
        return true
    }

    /// `key`'s bucket refilled for the time since it was last used; 429 when less than one event is left.
    private func refilledBucket(_ key: String, _ limit: RateLimitSettings.Limit) throws(CourierError) -> Bucket {
        let now = clock.now
        let rate = Double(limit.count) / Double(limit.seconds)
        var bucket = buckets[key] ?? Bucket(tokens: Double(limit.count), updated: now, fullAt: now)
        let elapsed = now - bucket.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(Double(limit.count), bucket.tokens + seconds * rate)
        bucket.updated = now
        guard bucket.tokens >= 1 else {
            buckets[key] = bucket
            let wait = max(1, Int(min(((1 - bucket.tokens) / rate).rounded(.up), Self.centuryMilliseconds / 1000)))
            throw CourierError(.tooManyRequests(retryAfterSeconds: wait), code: "rate_limited", message: "Too many requests; try again in \(wait) seconds.")
        }
        return bucket
    }

    /// Counts a request refused with 401 (a bad, expired or signed-out token, a bogus refresh
    /// token) against its IP address's budget; once that is spent, 429 instead. Only refusals
    /// count and only refusals are answered 429: a valid request from the same address (someone
    /// else behind the same proxy) is never held up by another's flood.
    public func countRefusal(from ipAddress: String?) async throws(CourierError) {
        try await take(Self.refusalKey(ipAddress), settings.unauthenticatedPerIP)
    }

    private static func refusalKey(_ ipAddress: String?) -> String { "refused-ip:\(ipAddress ?? "unknown")" }

    /// Forgets `key` (a successful sign-in clears the failures).
    public func reset(_ key: String) async {
        buckets[key] = nil
        try? await shared?.reset(key)
    }

    /// The request budget of a signed-in user: larger for premium users (looked up at most once a minute).
    public func takeRequest(of userID: UUID, isPremium: @Sendable () async throws -> Bool) async throws {
        guard settings.enabled else { return }
        let now = clock.now
        let known: Bool
        if let cached = premium[userID], now - cached.checked < .seconds(60) {
            known = cached.isPremium
        } else {
            known = (try? await isPremium()) ?? false
            premium[userID] = (known, clock.now)
        }
        // A bucket per tier: becoming premium starts with the full premium budget.
        try await take(known ? "premium:\(userID)" : "user:\(userID)", known ? settings.premiumUser : settings.user)
    }

    /// Forgets the cached premium status of a user whose subscription just changed.
    public func premiumChanged(_ userID: UUID) {
        premium[userID] = nil
    }

    /// Drops the buckets that are full again (each limit's own time: a window longer than an hour
    /// keeps its count), and sets when the next pass is due.
    private func pruneFullBuckets(now: ContinuousClock.Instant) {
        prunePasses += 1
        buckets = buckets.filter { $0.value.fullAt > now }
        nextPruneAt = max(bucketsBeforePruning, 2 * buckets.count)
    }
}

import CourierCore
import CourierRedis
import Foundation

/// Presence shared by the nodes of a deployment in Redis.
///
/// Each online device is an entry in its person's sorted set (`<prefix>user:<id>`, member the
/// connection, score when it expires) and in one deployment-wide set (`<prefix>devices`) that finds
/// the expired ones. Nodes refresh their devices' entries every few seconds; the entries of a node
/// that died expire after `ttl`, and the first node to sweep them announces those people offline.
/// Every step is one Lua script on Redis's clock, so nodes never disagree about time and two nodes
/// sweeping at once cannot both claim one person.
public struct RedisPresenceDirectory: PresenceDirectory {
    let redis: RedisClient
    let prefix: String
    /// How long an entry lives without a refresh.
    public let ttl: Duration

    /// A quarter of the entries' lifetime: a refresh can fail (or come late) three times in a row
    /// before anyone sees the person offline.
    public var upkeepInterval: Duration? { ttl / 4 }

    public init(redis: RedisClient, prefix: String = "courier:presence:", ttl: Duration = .seconds(20)) {
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
    }

    /// Shared by the scripts: Redis's clock in milliseconds.
    static let clock = """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
        """

    /// KEYS: the person's set, the deployment's set. ARGV: connection, person, ttl in ms.
    /// Returns how many live devices the person had before.
    static let connectScript = clock + """
        local ttl = tonumber(ARGV[3])
        local before = redis.call('ZCOUNT', KEYS[1], now, '+inf')
        redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('ZADD', KEYS[2], now + ttl, ARGV[2] .. ' ' .. ARGV[1])
        return before
        """

    /// KEYS: the person's set, the deployment's set. ARGV: connection, person.
    /// Returns how many live devices the person has left.
    static let disconnectScript = clock + """
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('ZREM', KEYS[2], ARGV[2] .. ' ' .. ARGV[1])
        return redis.call('ZCOUNT', KEYS[1], now, '+inf')
        """

    /// KEYS: people's sets. Returns, for each, how many live devices it holds.
    static let onlineScript = clock + """
        local counts = {}
        for index, key in ipairs(KEYS) do counts[index] = redis.call('ZCOUNT', key, now, '+inf') end
        return counts
        """

    /// KEYS: the deployment's set. ARGV: prefix, ttl in ms, then person and connection pairs.
    /// Returns the people who had no live device before.
    static let refreshScript = clock + """
        local ttl = tonumber(ARGV[2])
        local back = {}
        for index = 3, #ARGV, 2 do
            local key = ARGV[1] .. 'user:' .. ARGV[index]
            if redis.call('ZCOUNT', key, now, '+inf') == 0 then table.insert(back, ARGV[index]) end
            redis.call('ZADD', key, now + ttl, ARGV[index + 1])
            redis.call('PEXPIRE', key, ttl)
            redis.call('ZADD', KEYS[1], now + ttl, ARGV[index] .. ' ' .. ARGV[index + 1])
        end
        return back
        """

    /// KEYS: the deployment's set. ARGV: prefix, how many at most. Removes expired devices and
    /// returns the people left with none (each once: the removal and the answer are one step).
    static let sweepScript = clock + """
        local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
        local gone = {}
        local seen = {}
        for _, entry in ipairs(expired) do
            redis.call('ZREM', KEYS[1], entry)
            local space = string.find(entry, ' ', 1, true)
            local person = string.sub(entry, 1, space - 1)
            local key = ARGV[1] .. 'user:' .. person
            redis.call('ZREM', key, string.sub(entry, space + 1))
            if not seen[person] and redis.call('ZCOUNT', key, now, '+inf') == 0 then
                seen[person] = true
                table.insert(gone, person)
            end
        end
        return gone
        """

    private var devices: String { prefix + "devices" }
    private func key(_ userID: UUID) -> String { prefix + "user:" + userID.lowercasedString }
    private var ttlMilliseconds: String { String(ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000) }

    public func connected(userID: UUID, connectionID: UUID, isFirstHere: Bool) async throws -> Bool {
        let before = try await redis.send([
            "EVAL", Self.connectScript, "2", key(userID), devices, connectionID.lowercasedString, userID.lowercasedString, ttlMilliseconds,
        ])
        return before.int == 0
    }

    public func disconnected(userID: UUID, connectionID: UUID, wasLastHere: Bool) async throws -> Bool {
        let left = try await redis.send([
            "EVAL", Self.disconnectScript, "2", key(userID), devices, connectionID.lowercasedString, userID.lowercasedString,
        ])
        return left.int == 0
    }

    public func online(among userIDs: [UUID]) async throws -> Set<UUID> {
        var online: Set<UUID> = []
        for start in stride(from: 0, to: userIDs.count, by: 500) {
            let chunk = Array(userIDs[start..<min(start + 500, userIDs.count)])
            let answer = try await redis.send(["EVAL", Self.onlineScript, String(chunk.count)] + chunk.map(key))
            guard case .array(let counts?) = answer else { throw RedisError.unexpectedReply("\(answer)") }
            for (userID, count) in zip(chunk, counts) where (count.int ?? 0) > 0 { online.insert(userID) }
        }
        return online
    }

    public func refresh(_ connections: [(userID: UUID, connectionID: UUID)]) async throws -> [UUID] {
        var back: [UUID] = []
        for start in stride(from: 0, to: connections.count, by: 500) {
            let chunk = connections[start..<min(start + 500, connections.count)]
            let pairs = chunk.flatMap { [$0.userID.lowercasedString, $0.connectionID.lowercasedString] }
            back += try await people(in: redis.send(["EVAL", Self.refreshScript, "1", devices, prefix, ttlMilliseconds] + pairs))
        }
        return back
    }

    public func expired() async throws -> [UUID] {
        try people(in: await redis.send(["EVAL", Self.sweepScript, "1", devices, prefix, "1000"]))
    }

    private func people(in answer: RESPValue) throws -> [UUID] {
        guard case .array(let items?) = answer else { throw RedisError.unexpectedReply("\(answer)") }
        return items.compactMap { $0.string.flatMap(UUID.init(uuidString:)) }
    }
}

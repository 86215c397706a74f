import CourierCore
import Foundation
import SQLKit

/// Signed-in devices and their refresh tokens.
public struct SessionStore: Sendable {
    let engine: any DatabaseEngine

    public init(engine: any DatabaseEngine) { self.engine = engine }

    private static let columns = "id, user_id, device_name, ip_address, created_at, last_seen_at, expires_at, revoked_at"

    /// What presenting a refresh token led to.
    public enum RotationOutcome: Sendable, Equatable {
        /// The token was current: it is now spent and `session` continues with the new token.
        case rotated(DeviceSession)
        /// No such token (never issued, or its session was deleted).
        case unknown
        /// The token or its session has expired or was signed out.
        case expired
        /// The token had been rotated before: someone replays an old token, so the whole session
        /// was revoked.
        case reused(sessionID: UUID)
    }

    /// Stores a new session with its first refresh token.
    public func create(_ session: DeviceSession, refreshTokenHash: String) async throws {
        try await engine.write { sql in
            try await sql.raw("""
                INSERT INTO sessions (id, user_id, device_name, ip_address, created_at, last_seen_at, expires_at, revoked_at)
                VALUES (\(bind: session.id), \(bind: session.userID), \(bind: session.deviceName), \(bind: session.ipAddress),
                        \(bind: session.createdAt.milliseconds), \(bind: session.lastSeenAt.milliseconds),
                        \(bind: session.expiresAt.milliseconds), NULL)
                """).run()
            try await Self.insertToken(refreshTokenHash, session: session.id, createdAt: session.createdAt, expiresAt: session.expiresAt, on: sql)
        }
    }

    public func find(id: UUID) async throws -> DeviceSession? {
        try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM sessions WHERE id = \(bind: id)").first().map(DeviceSession.init(row:))
        }
    }

    /// The user's sessions that are still usable, most recently used first.
    public func active(userID: UUID, at time: Timestamp) async throws -> [DeviceSession] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM sessions
                WHERE user_id = \(bind: userID) AND revoked_at IS NULL AND expires_at > \(bind: time.milliseconds)
                ORDER BY last_seen_at DESC
                """).all().map(DeviceSession.init(row:))
        }
    }

    /// Those of `ids` that no longer hold access at `time`: signed out, expired or gone.
    public func ended(among ids: Set<UUID>, at time: Timestamp) async throws -> Set<UUID> {
        var active: Set<UUID> = []
        let all = Array(ids)
        for start in stride(from: 0, to: all.count, by: 512) {
            let chunk = Array(all[start..<min(start + 512, all.count)])
            let rows = try await engine.read { sql in
                try await sql.raw("""
                    SELECT id FROM sessions
                    WHERE id IN (\(anyOf: chunk)) AND revoked_at IS NULL AND expires_at > \(bind: time.milliseconds)
                    """).all()
            }
            for row in rows { active.insert(try row.decode(column: "id", as: UUID.self)) }
        }
        return ids.subtracting(active)
    }

    /// Spends the refresh token with hash `presentedHash` and, when it was current, issues
    /// `newHash` in its place and extends the session to `expiresAt`.
    ///
    /// Runs as one transaction; a reuse revokes the session and still commits.
    public func rotate(
        presentedHash: String, newHash: String, at time: Timestamp, expiresAt: Timestamp, ipAddress: String?
    ) async throws -> RotationOutcome {
        try await engine.write { sql in
            guard let token = try await sql.raw("""
                SELECT session_id, used_at, expires_at FROM refresh_tokens WHERE token_hash = \(bind: presentedHash)
                """).first()
            else { return .unknown }
            let sessionID = try token.decode(column: "session_id", as: UUID.self)
            let usedAt = try token.decode(column: "used_at", as: Int64?.self)
            let tokenExpiresAt = try token.decode(column: "expires_at", as: Int64.self)
            guard let session = try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM sessions WHERE id = \(bind: sessionID)")
                .first().map(DeviceSession.init(row:))
            else { return .unknown }

            if usedAt != nil {
                try await Self.revoke(sessionID, at: time, on: sql)
                return .reused(sessionID: sessionID)
            }
            guard session.isActive(at: time), time.milliseconds < tokenExpiresAt else { return .expired }

            // The condition on used_at makes two concurrent refreshes with one token a reuse, not a fork.
            let spent = try await sql.raw("""
                UPDATE refresh_tokens SET used_at = \(bind: time.milliseconds)
                WHERE token_hash = \(bind: presentedHash) AND used_at IS NULL
                RETURNING token_hash
                """).first()
            guard spent != nil else {
                try await Self.revoke(sessionID, at: time, on: sql)
                return .reused(sessionID: sessionID)
            }
            try await Self.insertToken(newHash, session: sessionID, createdAt: time, expiresAt: expiresAt, on: sql)
            let updated = try await sql.raw("""
                UPDATE sessions SET last_seen_at = \(bind: time.milliseconds), expires_at = \(bind: expiresAt.milliseconds),
                    ip_address = COALESCE(\(bind: ipAddress), ip_address)
                WHERE id = \(bind: sessionID)
                RETURNING \(unsafeRaw: Self.columns)
                """).first().map(DeviceSession.init(row:))
            return updated.map { .rotated($0) } ?? .unknown
        }
    }

    /// Signs a session out; only the owner's sessions match. Returns whether one was active.
    @discardableResult
    public func revoke(sessionID: UUID, userID: UUID, at time: Timestamp) async throws -> Bool {
        try await engine.write { sql in
            guard try await sql.raw("""
                UPDATE sessions SET revoked_at = \(bind: time.milliseconds)
                WHERE id = \(bind: sessionID) AND user_id = \(bind: userID) AND revoked_at IS NULL
                RETURNING id
                """).first() != nil
            else { return false }
            try await UpdateLog.record(.sessionRevoked, for: userID, detail: sessionID.lowercasedString, at: time, on: sql)
            return true
        }
    }

    /// Signs a session out, with a `session_revoked` update in its owner's log (their other devices
    /// list sessions).
    private static func revoke(_ sessionID: UUID, at time: Timestamp, on sql: any SQLDatabase) async throws {
        guard let owner = try await sql.raw("""
            UPDATE sessions SET revoked_at = \(bind: time.milliseconds) WHERE id = \(bind: sessionID) AND revoked_at IS NULL
            RETURNING user_id
            """).first()?.decode(column: "user_id", as: UUID.self)
        else { return }
        try await UpdateLog.record(.sessionRevoked, for: owner, detail: sessionID.lowercasedString, at: time, on: sql)
    }

    private static func insertToken(
        _ hash: String, session: UUID, createdAt: Timestamp, expiresAt: Timestamp, on sql: any SQLDatabase
    ) async throws {
        try await sql.raw("""
            INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, used_at)
            VALUES (\(bind: hash), \(bind: session), \(bind: createdAt.milliseconds), \(bind: expiresAt.milliseconds), NULL)
            """).run()
    }
}

extension DeviceSession {
    init(row: any SQLRow) throws {
        self.init(
            id: try row.decode(column: "id", as: UUID.self),
            userID: try row.decode(column: "user_id", as: UUID.self),
            deviceName: try row.decode(column: "device_name", as: String?.self),
            ipAddress: try row.decode(column: "ip_address", as: String?.self),
            createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            lastSeenAt: Timestamp(milliseconds: try row.decode(column: "last_seen_at", as: Int64.self)),
            expiresAt: Timestamp(milliseconds: try row.decode(column: "expires_at", as: Int64.self)),
            revokedAt: try row.decode(column: "revoked_at", as: Int64?.self).map(Timestamp.init(milliseconds:))
        )
    }
}

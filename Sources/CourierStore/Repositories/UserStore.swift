import CourierCore
import Foundation
import SQLKit

/// Accounts in the database.
public struct UserStore: Sendable {
    let engine: any DatabaseEngine

    public init(engine: any DatabaseEngine) { self.engine = engine }

    private static let columns = "id, phone, email, username, bio, avatar_url, is_premium, created_at, updated_at"

    /// Stores a new account. A taken phone, email or username is reported as a conflict naming that field.
    public func create(_ user: User, passwordHash: String) async throws {
        do {
            try await engine.write { sql in
                try await sql.raw("""
                    INSERT INTO users (id, phone, email, password_hash, username, bio, avatar_url, is_premium, created_at, updated_at)
                    VALUES (\(bind: user.id), \(bind: user.phone.value), \(bind: user.email?.value), \(bind: passwordHash),
                            \(bind: user.username.value), \(bind: user.bio), \(bind: user.avatarURL), \(bind: user.isPremium),
                            \(bind: user.createdAt.milliseconds), \(bind: user.updatedAt.milliseconds))
                    """).run()
            }
        } catch {
            throw Self.conflict(from: error) ?? error
        }
    }

    public func find(id: UUID) async throws -> User? {
        try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id = \(bind: id)").first().map(User.init(row:))
        }
    }

    /// The accounts among `ids` that exist.
    public func find(ids: [UUID]) async throws -> [User] {
        guard !ids.isEmpty else { return [] }
        return try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id IN (\(binds: ids))").all().map(User.init(row:))
        }
    }

    public func find(_ identifier: LoginIdentifier) async throws -> User? {
        try await credentials(for: identifier)?.user
    }

    /// The account and its password hash, for checking a sign-in.
    public func credentials(for identifier: LoginIdentifier) async throws -> (user: User, passwordHash: String)? {
        let (column, value) = Self.lookup(identifier)
        return try await engine.read { sql in
            guard let row = try await sql.raw("""
                SELECT \(unsafeRaw: Self.columns), password_hash FROM users WHERE \(unsafeRaw: column) = \(bind: value)
                """).first()
            else { return nil }
            return (try User(row: row), try row.decode(column: "password_hash", as: String.self))
        }
    }

    /// The account and password hash by id (for re-checking a password).
    public func credentials(forID id: UUID) async throws -> (user: User, passwordHash: String)? {
        try await engine.read { sql in
            guard let row = try await sql.raw("SELECT \(unsafeRaw: Self.columns), password_hash FROM users WHERE id = \(bind: id)").first()
            else { return nil }
            return (try User(row: row), try row.decode(column: "password_hash", as: String.self))
        }
    }

    /// Applies `changes` and returns the updated account, or nil when it does not exist.
    public func update(id: UUID, _ changes: ProfileChanges, at time: Timestamp) async throws -> User? {
        do {
            return try await engine.write { sql in
                var assignments: [SQLQueryString] = ["updated_at = \(bind: time.milliseconds)"]
                if let username = changes.username { assignments.append("username = \(bind: username.value)") }
                if let email = changes.email { assignments.append("email = \(bind: email?.value)") }
                if let bio = changes.bio { assignments.append("bio = \(bind: bio)") }
                if let avatarURL = changes.avatarURL { assignments.append("avatar_url = \(bind: avatarURL)") }
                let row = try await sql.raw("""
                    UPDATE users SET \(assignments.joined(separator: ", ")) WHERE id = \(bind: id)
                    RETURNING \(unsafeRaw: Self.columns)
                    """).first()
                return try row.map(User.init(row:))
            }
        } catch {
            throw Self.conflict(from: error) ?? error
        }
    }

    /// Whether the user administers this server (sees everyone's audit log, say).
    public func isServerAdmin(_ userID: UUID) async throws -> Bool {
        try await engine.read { sql in
            try await sql.raw("SELECT is_server_admin FROM users WHERE id = \(bind: userID)").first()?
                .decode(column: "is_server_admin", as: Bool.self) ?? false
        }
    }

    /// Grants or takes back server administration; returns the account's id, or nil when unknown.
    public func setServerAdmin(_ username: Username, _ isAdmin: Bool) async throws -> UUID? {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE users SET is_server_admin = \(bind: isAdmin) WHERE username = \(bind: username.value) RETURNING id
                """).first()?.decode(column: "id", as: UUID.self)
        }
    }

    /// Records when the user's last device disconnected.
    public func setLastSeen(_ userID: UUID, at time: Timestamp) async throws {
        try await engine.write { sql in
            try await sql.raw("UPDATE users SET last_seen_at = \(bind: time.milliseconds) WHERE id = \(bind: userID)").run()
        }
    }

    /// When each of `ids` last disconnected (absent: never).
    public func lastSeen(_ ids: [UUID]) async throws -> [UUID: Timestamp] {
        guard !ids.isEmpty else { return [:] }
        return try await engine.read { sql in
            var result: [UUID: Timestamp] = [:]
            for row in try await sql.raw("SELECT id, last_seen_at FROM users WHERE id IN (\(binds: ids))").all() {
                if let millis = try row.decode(column: "last_seen_at", as: Int64?.self) {
                    result[try row.decode(column: "id", as: UUID.self)] = Timestamp(milliseconds: millis)
                }
            }
            return result
        }
    }

    private static func lookup(_ identifier: LoginIdentifier) -> (column: String, value: String) {
        switch identifier {
        case .phone(let phone): ("phone", phone.value)
        case .username(let username): ("username", username.value)
        case .email(let email): ("email", email.value)
        }
    }

    private static func conflict(from error: any Error) -> CourierError? {
        guard let violation = UniqueViolation(error) else { return nil }
        for field in ["phone", "email", "username"] where violation.isOn(table: "users", column: field) {
            return .taken(field)
        }
        return nil
    }
}

extension User {
    init(row: any SQLRow) throws {
        self.init(
            id: try row.decode(column: "id", as: UUID.self),
            phone: try PhoneNumber(row.decode(column: "phone", as: String.self)),
            email: try row.decode(column: "email", as: String?.self).map { try EmailAddress($0) },
            username: try Username(row.decode(column: "username", as: String.self)),
            bio: try row.decode(column: "bio", as: String?.self),
            avatarURL: try row.decode(column: "avatar_url", as: String?.self),
            isPremium: try row.decode(column: "is_premium", as: Bool.self),
            createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp(milliseconds: try row.decode(column: "updated_at", as: Int64.self))
        )
    }
}

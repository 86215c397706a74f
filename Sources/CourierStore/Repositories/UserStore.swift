import CourierCore
import Foundation
import SQLKit

/// Accounts in the database.
///
/// Phone, e-mail and bio are sealed under the accounts' data key; phone and e-mail are found, and
/// kept unique, by their blind indexes. The username stays readable: it is a public handle
/// (mentions, look-ups by anyone), so hiding it at rest would protect nothing.
public struct UserStore: Sendable {
    let engine: any DatabaseEngine
    let keyring: Keyring

    public init(engine: any DatabaseEngine, keyring: Keyring) {
        self.engine = engine
        self.keyring = keyring
    }

    private static let columns = "id, phone, email, username, bio, avatar_url, is_premium, is_bot, created_at, updated_at"

    /// Stores a new account. A taken phone, email or username is reported as a conflict naming that field.
    public func create(_ user: User, passwordHash: String) async throws {
        let sealed = try await seal(user)
        do {
            try await engine.write { sql in
                try await sql.raw(Self.insert(user, sealed, passwordHash: passwordHash)).run()
            }
        } catch {
            throw Self.conflict(from: error) ?? error
        }
    }

    /// The statement that stores a new account (people sign up through `create`, bots are made by `BotStore`).
    static func insert(_ user: User, _ sealed: SealedFields, passwordHash: String) -> SQLQueryString {
        """
        INSERT INTO users (id, phone, phone_index, email, email_index, password_hash, username, bio, avatar_url, is_premium, is_bot,
                           created_at, updated_at, metadata_sealed)
        VALUES (\(bind: user.id), \(bind: sealed.phone), \(bind: sealed.phoneIndex), \(bind: sealed.email), \(bind: sealed.emailIndex),
                \(bind: passwordHash), \(bind: user.username.value), \(bind: sealed.bio), \(bind: user.avatarURL), \(bind: user.isPremium),
                \(bind: user.isBot ? 1 : 0), \(bind: user.createdAt.milliseconds), \(bind: user.updatedAt.milliseconds), 1)
        """
    }

    public func find(id: UUID) async throws -> User? {
        let row = try await engine.read { sql in try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id = \(bind: id)").first() }
        return try await row.asyncMap(user(from:))
    }

    /// The accounts among `ids` that exist.
    public func find(ids: [UUID]) async throws -> [User] {
        guard !ids.isEmpty else { return [] }
        let rows = try await engine.read { sql in try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id IN (\(anyOf: ids))").all() }
        var users: [User] = []
        for row in rows { users.append(try await user(from: row)) }
        return users
    }

    public func find(_ identifier: LoginIdentifier) async throws -> User? {
        try await credentials(for: identifier)?.user
    }

    /// The account and its password hash, for checking a sign-in.
    public func credentials(for identifier: LoginIdentifier) async throws -> (user: User, passwordHash: String)? {
        let (column, value) = try await lookup(identifier)
        guard let row = try await engine.read({ sql in
            try await sql.raw("""
                SELECT \(unsafeRaw: Self.columns), password_hash FROM users WHERE \(unsafeRaw: column) = \(bind: value)
                """).first()
        }) else { return nil }
        return (try await user(from: row), try row.decode(column: "password_hash", as: String.self))
    }

    /// The account and password hash by id (for re-checking a password).
    public func credentials(forID id: UUID) async throws -> (user: User, passwordHash: String)? {
        guard let row = try await engine.read({ sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns), password_hash FROM users WHERE id = \(bind: id)").first()
        }) else { return nil }
        return (try await user(from: row), try row.decode(column: "password_hash", as: String.self))
    }

    /// Applies `changes` and returns the updated account, or nil when it does not exist.
    public func update(id: UUID, _ changes: ProfileChanges, at time: Timestamp) async throws -> User? {
        var assignments: [SQLQueryString] = ["updated_at = \(bind: time.milliseconds)"]
        if let username = changes.username { assignments.append("username = \(bind: username.value)") }
        if let email = changes.email {
            let sealed = try await keyring.seal(email?.value, Self.context(id, "email"))
            let index = try await email.asyncMap { try await keyring.blindIndex($0.value, field: "email") }
            assignments.append("email = \(bind: sealed), email_index = \(bind: index)")
        }
        if let bio = changes.bio { assignments.append("bio = \(bind: try await keyring.seal(bio, Self.context(id, "bio")))") }
        if let avatarURL = changes.avatarURL { assignments.append("avatar_url = \(bind: avatarURL)") }
        let row: (any SQLRow)?
        do {
            row = try await engine.write { [assignments] sql in
                try await sql.raw("""
                    UPDATE users SET \(assignments.joined(separator: ", ")) WHERE id = \(bind: id)
                    RETURNING \(unsafeRaw: Self.columns)
                    """).first()
            }
        } catch {
            throw Self.conflict(from: error) ?? error
        }
        return try await row.asyncMap(user(from:))
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
            for row in try await sql.raw("SELECT id, last_seen_at FROM users WHERE id IN (\(anyOf: ids))").all() {
                if let millis = try row.decode(column: "last_seen_at", as: Int64?.self) {
                    result[try row.decode(column: "id", as: UUID.self)] = Timestamp(milliseconds: millis)
                }
            }
            return result
        }
    }

    private func lookup(_ identifier: LoginIdentifier) async throws -> (column: String, value: String) {
        switch identifier {
        case .phone(let phone): ("phone_index", try await keyring.blindIndex(phone.value, field: "phone"))
        case .username(let username): ("username", username.value)
        case .email(let email): ("email_index", try await keyring.blindIndex(email.value, field: "email"))
        }
    }

    // MARK: Sealing

    static func context(_ userID: UUID, _ field: String) -> Keyring.FieldContext {
        Keyring.FieldContext(table: "users", rowID: userID, scope: .accounts, field: field)
    }

    /// A user's sealed fields and blind indexes, as stored.
    struct SealedFields: Sendable {
        let phone: String
        let phoneIndex: String
        let email: String?
        let emailIndex: String?
        let bio: String?
    }

    func seal(_ user: User) async throws -> SealedFields {
        SealedFields(
            phone: try await keyring.seal(user.phone.value, Self.context(user.id, "phone")) ?? "",
            phoneIndex: try await keyring.blindIndex(user.phone.value, field: "phone"),
            email: try await keyring.seal(user.email?.value, Self.context(user.id, "email")),
            emailIndex: try await user.email.asyncMap { try await keyring.blindIndex($0.value, field: "email") },
            bio: try await keyring.seal(user.bio, Self.context(user.id, "bio"))
        )
    }

    /// The account in `row`, its sealed fields opened.
    func user(from row: any SQLRow) async throws -> User {
        let id = try row.decode(column: "id", as: UUID.self)
        let phone = try await keyring.open(try row.decode(column: "phone", as: String.self), Self.context(id, "phone")) ?? ""
        let email = try await keyring.open(try row.decode(column: "email", as: String?.self), Self.context(id, "email"))
        return User(
            id: id,
            phone: try PhoneNumber(phone),
            email: try email.map { try EmailAddress($0) },
            username: try Username(row.decode(column: "username", as: String.self)),
            bio: try await keyring.open(try row.decode(column: "bio", as: String?.self), Self.context(id, "bio")),
            avatarURL: try row.decode(column: "avatar_url", as: String?.self),
            isPremium: try row.decode(column: "is_premium", as: Bool.self),
            isBot: try row.decode(column: "is_bot", as: Int.self) != 0,
            createdAt: Timestamp(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp(milliseconds: try row.decode(column: "updated_at", as: Int64.self))
        )
    }

    static func conflict(from error: any Error) -> CourierError? {
        guard let violation = UniqueViolation(error) else { return nil }
        for field in ["phone", "email", "username"] where violation.isOn(table: "users", column: field) {
            return .taken(field)
        }
        return nil
    }
}

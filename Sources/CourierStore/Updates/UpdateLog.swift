import CourierCore
import Foundation
import SQLKit

/// Writes update-log entries inside the transaction of the change they record, so a change and its
/// position commit together or not at all.
///
/// A chat's next `pts` is taken with `UPDATE chats SET last_pts = last_pts + 1 … RETURNING`, as
/// messages take their `seq`: the row lock orders concurrent writers and a rollback returns the
/// number, so positions have no gaps and no duplicates. The same holds per person on `users`.
enum UpdateLog {
    /// Records a chat update and returns it with its position.
    @discardableResult
    static func record(
        _ kind: ChatUpdate.Kind, in chatID: UUID, messageID: UUID? = nil, userID: UUID? = nil, value: Int64? = nil,
        detail: String? = nil, at time: Timestamp, on sql: any SQLDatabase
    ) async throws -> ChatUpdate {
        guard let pts = try await sql.raw("""
            UPDATE chats SET last_pts = last_pts + 1 WHERE id = \(bind: chatID) RETURNING last_pts
            """).first()?.decode(column: "last_pts", as: Int64.self)
        else { throw CourierError.notFound("chat") }
        let update = ChatUpdate(
            chatID: chatID, pts: pts, kind: kind, messageID: messageID, userID: userID, value: value, detail: detail, createdAt: time
        )
        try await insert(update, on: sql)
        return update
    }

    /// Row locks are taken in one order on PostgreSQL: a chat's row, then people's rows (in
    /// `lockOrder`), then member rows. Sending takes the chat's row, then the sender's member row;
    /// a change to one's chat settings takes the person's row, then their member row. A change
    /// that took them the other way round (a read mark, a role, leaving, a draft) and met one of
    /// those by the same person waited for it while it waited back, until PostgreSQL aborted one
    /// of the two (a 500). Transactions that take one of these late take it first instead.
    ///
    /// SQLite's write transaction holds the whole database: there these take nothing. On
    /// PostgreSQL each is the lock an `UPDATE` takes, without writing a new version of the row.
    static func lockChatFirst(_ chatID: UUID, on sql: any SQLDatabase) async throws {
        guard sql.dialect.name != "sqlite" else { return }
        try await sql.raw("SELECT 1 FROM chats WHERE id = \(bind: chatID) FOR NO KEY UPDATE").run()
    }

    /// Takes the row locks of the people `whom` names (the ones `record(_:for:…)` takes), in
    /// `lockOrder`, before any member row (see `lockChatFirst`). `whom` is only asked on
    /// PostgreSQL: finding them may take statements SQLite does not need.
    static func lockPeopleFirst(on sql: any SQLDatabase, _ whom: () async throws -> [UUID]) async throws {
        guard sql.dialect.name != "sqlite" else { return }
        for id in lockOrder(try await whom()) {
            try await sql.raw("SELECT 1 FROM users WHERE id = \(bind: id) FOR NO KEY UPDATE").run()
        }
    }

    /// The owner and admins of a channel: a membership change there is logged in their rows (and
    /// the subject's; `recordMembership`).
    static func channelManagers(of chatID: UUID, on sql: any SQLDatabase) async throws -> [UUID] {
        try await sql.raw("""
            SELECT user_id FROM chat_members WHERE chat_id = \(bind: chatID) AND role IN ('owner', 'admin')
            """).all().map { try $0.decode(column: "user_id", as: UUID.self) }
    }

    /// Stores `update` at the position its caller already took (sending takes `seq` and `pts` in one statement).
    static func insert(_ update: ChatUpdate, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO chat_updates (chat_id, pts, kind, message_id, user_id, value, detail, created_at)
            VALUES (\(bind: update.chatID), \(bind: update.pts), \(bind: update.kind.rawValue), \(bind: update.messageID),
                    \(bind: update.userID), \(bind: update.value), \(bind: update.detail), \(bind: update.createdAt.milliseconds))
            """).run()
    }

    /// `userIDs` without repeats, in the one order in which a transaction takes their rows' locks
    /// (`record(_:for:…)` updates each person's row): two transactions that record for people in
    /// common, such as two groups created at once with members in common, then wait for each
    /// other in turn instead of deadlocking (PostgreSQL aborted one of them, a 500).
    static func lockOrder(_ userIDs: [UUID]) -> [UUID] {
        Array(Set(userIDs)).sorted { $0.uuidString < $1.uuidString }
    }

    /// Records an update in a person's own log and returns it with its position.
    @discardableResult
    static func record(
        _ kind: AccountUpdate.Kind, for userID: UUID, chatID: UUID? = nil, messageID: UUID? = nil, subjectID: UUID? = nil,
        value: Int64? = nil, detail: String? = nil, at time: Timestamp, on sql: any SQLDatabase
    ) async throws -> AccountUpdate {
        guard let pts = try await sql.raw("""
            UPDATE users SET last_pts = last_pts + 1 WHERE id = \(bind: userID) RETURNING last_pts
            """).first()?.decode(column: "last_pts", as: Int64.self)
        else { throw CourierError.notFound("user") }
        let update = AccountUpdate(
            userID: userID, pts: pts, kind: kind, chatID: chatID, messageID: messageID, subjectID: subjectID, value: value,
            detail: detail, createdAt: time
        )
        try await sql.raw("""
            INSERT INTO account_updates (user_id, pts, kind, chat_id, message_id, subject_id, value, detail, created_at)
            VALUES (\(bind: userID), \(bind: pts), \(bind: kind.rawValue), \(bind: chatID), \(bind: messageID), \(bind: subjectID),
                    \(bind: value), \(bind: detail), \(bind: time.milliseconds))
            """).run()
        return update
    }

    /// A membership change (`member_added`, `member_removed`, `role_changed`) of `subject`, where
    /// those who may see it will: the chat's log in a group, or in a channel the own logs of its owner
    /// and admins and of the subject.
    static func recordMembership(
        _ kind: ChatUpdate.Kind, of subject: UUID, in chatID: UUID, chatKind: ChatKind, role: ChatRole? = nil,
        at time: Timestamp, on sql: any SQLDatabase
    ) async throws -> LoggedUpdates {
        if ChatPolicy.membershipIsSeenByAll(kind: chatKind) {
            return LoggedUpdates(chat: [try await record(kind, in: chatID, userID: subject, detail: role?.rawValue, at: time, on: sql)])
        }
        let accountKind: AccountUpdate.Kind = switch kind {
        case .memberAdded: .memberAdded
        case .memberRemoved: .memberRemoved
        default: .roleChanged
        }
        let managers = try await channelManagers(of: chatID, on: sql)
        var logged = LoggedUpdates()
        for person in lockOrder(managers + [subject]) {
            logged.account.append(try await record(
                accountKind, for: person, chatID: chatID, subjectID: subject, detail: role?.rawValue, at: time, on: sql
            ))
        }
        return logged
    }

    /// The chat's current position (for `chat_joined`, read inside the joining transaction).
    static func position(of chatID: UUID, on sql: any SQLDatabase) async throws -> Int64 {
        try await sql.raw("SELECT last_pts FROM chats WHERE id = \(bind: chatID)").first()?.decode(column: "last_pts", as: Int64.self) ?? 0
    }
}

import CourierCore
import Foundation
import SQLKit

/// Chats and their members. Every change to membership updates `chats.member_count` in the same
/// transaction, so counts are exact under concurrency.
public struct ChatStore: Sendable {
    let engine: any DatabaseEngine
    let cipher: MessageCipher

    public init(engine: any DatabaseEngine, cipher: MessageCipher) {
        self.engine = engine
        self.cipher = cipher
    }

    /// A chat as one member sees it in the chat list.
    public struct Summary: Sendable, Equatable {
        public var chat: Chat
        public var membership: ChatMembership
        public var lastMessage: Message?
        public var unreadCount: Int
        /// The other person of a DM.
        public var peerID: UUID?
        /// How far the other members have read (the furthest of them), for read ticks; 0 in channels,
        /// where subscribers' reading is nobody else's business.
        public var othersLastReadSeq: Int64
        /// The other person of a DM, when the caller looked them up.
        public var peer: User? = nil
        /// The reader's own settings of the chat, and their draft in it.
        public var settings = ChatListSettings()
        public var draft: String?
        /// Mentions of the reader after their read mark, and the first of them (to jump to).
        public var unreadMentions = 0
        public var firstUnreadMentionSeq: Int64?
    }

    /// Creates a group or channel with its owner and first members; each of them gets `chat_joined`.
    @discardableResult
    public func create(
        _ chat: Chat, channel: ChannelInfo? = nil, ownerID: UUID, memberIDs: [UUID], memberRole: ChatRole
    ) async throws -> LoggedUpdates {
        let stored = try await sealed(chat)
        let description = try await keyring.seal(channel?.description, Self.descriptionContext(chat.id))
        do {
            return try await engine.write { sql in
                try await Self.insert(stored, dmKey: nil, on: sql)
                if let channel {
                    try await sql.raw("""
                        INSERT INTO channels (id, username, description, created_at, updated_at, metadata_sealed)
                        VALUES (\(bind: chat.id), \(bind: channel.username?.value), \(bind: description),
                                \(bind: chat.createdAt.milliseconds), \(bind: chat.createdAt.milliseconds), 1)
                        """).run()
                }
                try await Self.insertMember(chat.id, ownerID, role: .owner, at: chat.createdAt, on: sql)
                for id in memberIDs {
                    try await Self.insertMember(chat.id, id, role: memberRole, at: chat.createdAt, on: sql)
                }
                var logged = LoggedUpdates()
                for id in UpdateLog.lockOrder([ownerID] + memberIDs) {
                    logged.account.append(try await UpdateLog.record(.chatJoined, for: id, chatID: chat.id, value: 0, at: chat.createdAt, on: sql))
                }
                return logged
            }
        } catch {
            if let violation = UniqueViolation(error), violation.isOn(table: "channels", column: "username") {
                throw CourierError.taken("username")
            }
            throw error
        }
    }

    /// The DM between two people, created if it does not exist yet (then both get `chat_joined`).
    /// The DM between two people, if they have one (a bot may write only where a person started).
    public func directChatID(between first: UUID, and second: UUID) async throws -> UUID? {
        let key = [first, second].map { $0.lowercasedString }.sorted().joined(separator: ":")
        return try await engine.read { sql in
            try await sql.raw("SELECT id FROM chats WHERE dm_key = \(bind: key)").first()?.decode(column: "id", as: UUID.self)
        }
    }

    public func findOrCreateDM(
        between first: UUID, and second: UUID, at time: Timestamp
    ) async throws -> (chat: Chat, created: Bool, updates: LoggedUpdates) {
        let key = [first, second].map { $0.lowercasedString }.sorted().joined(separator: ":")
        let find: @Sendable (any SQLDatabase) async throws -> Chat? = { sql in
            try await sql.raw("SELECT \(unsafeRaw: Chat.columns) FROM chats WHERE dm_key = \(bind: key)").first().map(Chat.init(row:))
        }
        if let existing = try await engine.read(find) { return (try await opened(existing), false, LoggedUpdates()) }
        let chat = Chat(
            id: UUID.random(), kind: .dm, name: nil, ownerID: nil, lastSeq: 0, memberCount: 2,
            lastActivityAt: time, createdAt: time, updatedAt: time
        )
        do {
            let updates = try await engine.write { sql in
                try await Self.insert(chat, dmKey: key, on: sql)
                try await Self.insertMember(chat.id, first, role: .member, at: time, on: sql)
                try await Self.insertMember(chat.id, second, role: .member, at: time, on: sql)
                var logged = LoggedUpdates()
                for id in UpdateLog.lockOrder([first, second]) {
                    logged.account.append(try await UpdateLog.record(.chatJoined, for: id, chatID: chat.id, value: 0, at: time, on: sql))
                }
                return logged
            }
            return (chat, true, updates)
        } catch where UniqueViolation(error) != nil {
            // The other person created it at the same moment: theirs is the DM.
            guard let existing = try await engine.read(find) else { throw error }
            return (try await opened(existing), false, LoggedUpdates())
        }
    }

    public func find(id: UUID) async throws -> Chat? {
        let chat = try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Chat.columns) FROM chats WHERE id = \(bind: id)").first().map(Chat.init(row:))
        }
        return try await chat.asyncMap(opened)
    }

    /// The chat and, if `userID` belongs to it, their membership: what every permission check needs, in one query.
    public func chat(_ chatID: UUID, asSeenBy userID: UUID) async throws -> (chat: Chat, membership: ChatMembership?)? {
        let found = try await engine.read { sql -> (chat: Chat, membership: ChatMembership?)? in
            guard let row = try await sql.raw("""
                SELECT \(unsafeRaw: Chat.columns(of: "c")), m.user_id AS m_user_id, m.chat_id AS m_chat_id, m.role AS m_role,
                       m.joined_at AS m_joined_at, m.last_read_seq AS m_last_read_seq
                FROM chats c LEFT JOIN chat_members m ON m.chat_id = c.id AND m.user_id = \(bind: userID)
                WHERE c.id = \(bind: chatID)
                """).first()
            else { return nil }
            let chat = try Chat(row: row)
            let isMember = try row.decode(column: "m_user_id", as: UUID?.self) != nil
            return (chat, isMember ? try ChatMembership(row: row, prefix: "m_") : nil)
        }
        guard let found else { return nil }
        return (try await opened(found.chat), found.membership)
    }

    /// The user's chats, most recent activity first, with last message and unread count.
    public func summaries(for userID: UUID, limit: Int, offset: Int) async throws -> (summaries: [Summary], total: Int) {
        let (rows, total) = try await engine.read { sql in
            let total = try await sql.raw("SELECT COUNT(*) AS n FROM chat_members WHERE user_id = \(bind: userID)")
                .first()?.decode(column: "n", as: Int.self) ?? 0
            return (try await Self.summaryRows(for: userID, only: nil, limit: limit, offset: offset, on: sql), total)
        }
        return (try await summaries(from: rows), total)
    }

    /// One chat as `userID` sees it in the list, if they are a member.
    public func summary(of chatID: UUID, for userID: UUID) async throws -> Summary? {
        let rows = try await engine.read { sql in
            try await Self.summaryRows(for: userID, only: chatID, limit: 1, offset: 0, on: sql)
        }
        return try await summaries(from: rows).first
    }

    private func summaries(from rows: [any SQLRow]) async throws -> [Summary] {
        var summaries: [Summary] = []
        for row in rows {
            let lastMessage = try row.decode(column: "lm_id", as: UUID?.self) == nil ? nil : try await cipher.message(from: row, prefix: "lm_")
            let chat = try await opened(try Chat(row: row))
            let membership = try ChatMembership(row: row, prefix: "m_")
            var summary = Summary(
                chat: chat,
                membership: membership,
                lastMessage: lastMessage,
                unreadCount: try row.decode(column: "unread_count", as: Int.self),
                peerID: try row.decode(column: "peer_id", as: UUID?.self),
                othersLastReadSeq: try row.decode(column: "others_last_read_seq", as: Int64?.self) ?? 0
            )
            summary.settings = ChatListSettings(
                pinnedAt: try row.decode(column: "m_pinned_at", as: Int64?.self).map(Timestamp.init(milliseconds:)),
                mutedUntil: try row.decode(column: "m_muted_until", as: Int64?.self).map(Timestamp.init(milliseconds:)),
                archived: try row.decode(column: "m_archived", as: Int.self) == 1
            )
            summary.draft = try await cipher.keyring.open(
                try row.decode(column: "m_draft", as: String?.self), ChatSettingsStore.draftContext(chat.id, membership.userID)
            )
            summary.unreadMentions = try row.decode(column: "unread_mentions", as: Int.self)
            summary.firstUnreadMentionSeq = try row.decode(column: "first_unread_mention_seq", as: Int64?.self)
            summaries.append(summary)
        }
        return summaries
    }

    private static func summaryRows(
        for userID: UUID, only chatID: UUID?, limit: Int, offset: Int, on sql: any SQLDatabase
    ) async throws -> [any SQLRow] {
        let onlyChat: SQLQueryString = chatID.map { "AND c.id = \(bind: $0)" } ?? ""
        let rows = try await sql.raw("""
            SELECT \(unsafeRaw: Chat.columns(of: "c")),
                   m.chat_id AS m_chat_id, m.user_id AS m_user_id, m.role AS m_role, m.joined_at AS m_joined_at,
                   m.last_read_seq AS m_last_read_seq, m.pinned_at AS m_pinned_at, m.muted_until AS m_muted_until,
                   m.archived AS m_archived, m.draft AS m_draft,
                   (SELECT COUNT(*) FROM message_mentions mm
                     WHERE mm.chat_id = c.id AND mm.user_id = m.user_id AND mm.seq > m.last_read_seq
                       AND NOT EXISTS (SELECT 1 FROM hidden_messages hm WHERE hm.user_id = m.user_id AND hm.message_id = mm.message_id)) AS unread_mentions,
                   (SELECT MIN(mm.seq) FROM message_mentions mm
                     WHERE mm.chat_id = c.id AND mm.user_id = m.user_id AND mm.seq > m.last_read_seq
                       AND NOT EXISTS (SELECT 1 FROM hidden_messages hm WHERE hm.user_id = m.user_id AND hm.message_id = mm.message_id)) AS first_unread_mention_seq,
                   \(unsafeRaw: Message.columns(of: "lm", prefix: "lm_")),
                   (SELECT COUNT(*) FROM (SELECT 1 FROM messages u
                     WHERE u.chat_id = c.id AND u.seq > m.last_read_seq AND u.deleted_at IS NULL
                       AND (u.sender_id IS NULL OR u.sender_id <> m.user_id)
                     LIMIT \(unsafeRaw: String(Self.unreadCountLimit))) unread) AS unread_count,
                   (SELECT p.user_id FROM chat_members p
                     WHERE c.type = 'dm' AND p.chat_id = c.id AND p.user_id <> m.user_id LIMIT 1) AS peer_id,
                   (SELECT MAX(o.last_read_seq) FROM chat_members o
                     WHERE c.type <> 'channel' AND o.chat_id = c.id AND o.user_id <> m.user_id) AS others_last_read_seq
            FROM chat_members m
            JOIN chats c ON c.id = m.chat_id
            LEFT JOIN messages lm ON lm.chat_id = c.id AND lm.seq = c.last_seq
                AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = m.user_id AND h.message_id = lm.id)
            WHERE m.user_id = \(bind: userID) \(onlyChat)
            ORDER BY CASE WHEN m.pinned_at IS NULL THEN 1 ELSE 0 END, m.pinned_at DESC, c.last_activity_at DESC, c.id
            LIMIT \(bind: limit) OFFSET \(bind: offset)
            """).all()
        return rows
    }

    /// The members of a chat, owner and admins first, then by joining time.
    public func members(of chatID: UUID, limit: Int, offset: Int) async throws -> [ChatMembership] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT \(unsafeRaw: ChatMembership.columns) FROM chat_members WHERE chat_id = \(bind: chatID)
                ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, joined_at, user_id
                LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all().map { try ChatMembership(row: $0) }
        }
    }

    /// Everyone who shares a DM or group with `userID`: the people who may see their presence.
    public func peers(of userID: UUID) async throws -> [UUID] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT DISTINCT other.user_id FROM chat_members mine
                JOIN chats c ON c.id = mine.chat_id AND c.type <> 'channel'
                JOIN chat_members other ON other.chat_id = mine.chat_id AND other.user_id <> mine.user_id
                WHERE mine.user_id = \(bind: userID)
                """).all().map { try $0.decode(column: "user_id", as: UUID.self) }
        }
    }

    /// The owner and admins of a chat.
    public func managerIDs(of chatID: UUID) async throws -> [UUID] {
        try await engine.read { sql in
            try await sql.raw("SELECT user_id FROM chat_members WHERE chat_id = \(bind: chatID) AND role IN ('owner', 'admin')").all()
                .map { try $0.decode(column: "user_id", as: UUID.self) }
        }
    }

    /// The chats `userID` is in, in any role, the most recently active first, at most `limit`.
    public func chatIDs(of userID: UUID, limit: Int) async throws -> [UUID] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT m.chat_id FROM chat_members m JOIN chats c ON c.id = m.chat_id
                WHERE m.user_id = \(bind: userID) ORDER BY c.last_activity_at DESC, c.id LIMIT \(bind: limit)
                """).all().map { try $0.decode(column: "chat_id", as: UUID.self) }
        }
    }

    /// The members of a chat, for fan-out.
    public func memberIDs(of chatID: UUID) async throws -> [UUID] {
        try await engine.read { sql in
            try await sql.raw("SELECT user_id FROM chat_members WHERE chat_id = \(bind: chatID)").all()
                .map { try $0.decode(column: "user_id", as: UUID.self) }
        }
    }

    /// The user's role in each of these chats they belong to (chats they are not in are absent).
    public func roles(of userID: UUID, in chatIDs: [UUID]) async throws -> [UUID: ChatRole] {
        var roles: [UUID: ChatRole] = [:]
        for start in stride(from: 0, to: chatIDs.count, by: 512) {
            let chunk = Array(chatIDs[start..<min(start + 512, chatIDs.count)])
            let rows = try await engine.read { sql in
                try await sql.raw("""
                    SELECT chat_id, role FROM chat_members WHERE user_id = \(bind: userID) AND chat_id IN (\(anyOf: chunk))
                    """).all()
            }
            for row in rows {
                roles[try row.decode(column: "chat_id", as: UUID.self)] = try row.decodeEnum(column: "role", as: ChatRole.self)
            }
        }
        return roles
    }

    /// Adds people who are not members yet with `role`, refusing the whole change when the chat would
    /// then hold more than `limit` members. Returns who was added, the new member count, and the
    /// updates: `member_added` (where `UpdateLog.recordMembership` puts it), `chat_joined` for each newcomer.
    public func addMembers(
        _ userIDs: [UUID], to chatID: UUID, role: ChatRole, limit: Int?, kind: ChatKind, at time: Timestamp
    ) async throws -> (added: [UUID], memberCount: Int, updates: LoggedUpdates) {
        try await engine.write { sql in
            // The chat's row first: two additions of the same person wait for each other, and the
            // second finds the first's member row instead of inserting it again (a 500).
            try await UpdateLog.lockChatFirst(chatID, on: sql)
            var added: [UUID] = []
            var logged = LoggedUpdates()
            for id in UpdateLog.lockOrder(userIDs) {
                let existing = try await sql.raw("""
                    SELECT 1 AS present FROM chat_members WHERE chat_id = \(bind: chatID) AND user_id = \(bind: id)
                    """).first()
                if existing == nil {
                    try await Self.insertMember(chatID, id, role: role, at: time, on: sql)
                    added.append(id)
                    logged = logged + (try await UpdateLog.recordMembership(.memberAdded, of: id, in: chatID, chatKind: kind, at: time, on: sql))
                    // From here on the newcomer follows the chat's log.
                    let position = try await UpdateLog.position(of: chatID, on: sql)
                    logged.account.append(try await UpdateLog.record(.chatJoined, for: id, chatID: chatID, value: position, at: time, on: sql))
                }
            }
            // The row lock of this UPDATE orders concurrent additions on PostgreSQL, so the check below sees the true count.
            let count = try await sql.raw("""
                UPDATE chats SET member_count = member_count + \(bind: added.count), updated_at = \(bind: time.milliseconds)
                WHERE id = \(bind: chatID) RETURNING member_count
                """).first()?.decode(column: "member_count", as: Int.self) ?? 0
            if let limit, count > limit {
                throw CourierError(
                    .forbidden, code: "group_member_limit",
                    message: "A group holds at most \(limit) members unless its owner has premium."
                )
            }
            return (added, count, logged)
        }
    }

    /// Removes a member. When the owner leaves, the longest-standing admin (else member) becomes owner;
    /// when nobody is left, the chat is deleted. Returns nil when they were not a member, else the
    /// updates: `member_removed` (and `role_changed` for a new owner) for the chat, `chat_left` for them.
    public func removeMember(
        _ userID: UUID, from chatID: UUID, kind: ChatKind, at time: Timestamp
    ) async throws -> LoggedUpdates? {
        try await engine.write { sql in
            try await UpdateLog.lockChatFirst(chatID, on: sql)
            try await UpdateLog.lockPeopleFirst(on: sql) { try await Self.loggedForRemoval(of: userID, from: chatID, kind: kind, on: sql) }
            guard let removed = try await sql.raw("""
                DELETE FROM chat_members WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID) RETURNING role
                """).first()
            else { return nil }
            var logged = LoggedUpdates()
            logged.account.append(try await UpdateLog.record(.chatLeft, for: userID, chatID: chatID, at: time, on: sql))
            let count = try await sql.raw("""
                UPDATE chats SET member_count = member_count - 1, updated_at = \(bind: time.milliseconds)
                WHERE id = \(bind: chatID) RETURNING member_count
                """).first()?.decode(column: "member_count", as: Int.self) ?? 0
            if count <= 0 {
                try await SearchIndex.removeChat(chatID, on: sql)
                try await sql.raw("DELETE FROM chats WHERE id = \(bind: chatID)").run()
                return logged
            }
            logged = logged + (try await UpdateLog.recordMembership(.memberRemoved, of: userID, in: chatID, chatKind: kind, at: time, on: sql))
            if try removed.decode(column: "role", as: String.self) == ChatRole.owner.rawValue,
               let heir = try await Self.heir(of: chatID, after: userID, on: sql) {
                try await sql.raw("UPDATE chat_members SET role = 'owner' WHERE chat_id = \(bind: chatID) AND user_id = \(bind: heir)").run()
                try await sql.raw("UPDATE chats SET owner_id = \(bind: heir) WHERE id = \(bind: chatID)").run()
                logged = logged + (try await UpdateLog.recordMembership(.roleChanged, of: heir, in: chatID, chatKind: kind, role: .owner, at: time, on: sql))
            }
            return logged
        }
    }

    /// The people whose rows removing `userID` writes to: theirs (`chat_left`), and in a channel
    /// its owner and admins and, when the owner leaves, the heir (`member_removed`, `role_changed`).
    private static func loggedForRemoval(of userID: UUID, from chatID: UUID, kind: ChatKind, on sql: any SQLDatabase) async throws -> [UUID] {
        guard !ChatPolicy.membershipIsSeenByAll(kind: kind) else { return [userID] }
        let managers = try await UpdateLog.channelManagers(of: chatID, on: sql)
        var people = [userID] + managers
        let isOwner = try await sql.raw("""
            SELECT 1 AS present FROM chat_members WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID) AND role = 'owner'
            """).first() != nil
        if isOwner, let heir = try await heir(of: chatID, after: userID, on: sql) { people.append(heir) }
        return people
    }

    /// Who becomes owner when `leaver` (the owner) leaves: the longest-standing admin, else member.
    private static func heir(of chatID: UUID, after leaver: UUID, on sql: any SQLDatabase) async throws -> UUID? {
        try await sql.raw("""
            SELECT user_id FROM chat_members WHERE chat_id = \(bind: chatID) AND user_id <> \(bind: leaver)
            ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'member' THEN 1 ELSE 2 END, joined_at, user_id LIMIT 1
            """).first()?.decode(column: "user_id", as: UUID.self)
    }

    /// Changes a member's role; returns its `role_changed` updates, nil when they are not a member.
    public func setRole(
        _ role: ChatRole, of userID: UUID, in chatID: UUID, kind: ChatKind, at time: Timestamp
    ) async throws -> LoggedUpdates? {
        try await engine.write { sql in
            if ChatPolicy.membershipIsSeenByAll(kind: kind) {
                try await UpdateLog.lockChatFirst(chatID, on: sql)
            } else {
                // Logged in the rows of the channel's owner and admins and of the member.
                try await UpdateLog.lockPeopleFirst(on: sql) { try await UpdateLog.channelManagers(of: chatID, on: sql) + [userID] }
            }
            guard try await sql.raw("""
                UPDATE chat_members SET role = \(bind: role.rawValue)
                WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID) RETURNING user_id
                """).first() != nil
            else { return nil }
            return try await UpdateLog.recordMembership(.roleChanged, of: userID, in: chatID, chatKind: kind, role: role, at: time, on: sql)
        }
    }

    /// Renames a group or channel; returns its `chat_updated` update.
    @discardableResult
    public func rename(_ chatID: UUID, to name: String, at time: Timestamp) async throws -> ChatUpdate {
        let sealedName = try await keyring.seal(name, Self.nameContext(chatID))
        return try await engine.write { sql in
            try await sql.raw("""
                UPDATE chats SET name = \(bind: sealedName), updated_at = \(bind: time.milliseconds) WHERE id = \(bind: chatID)
                """).run()
            return try await UpdateLog.record(.chatUpdated, in: chatID, at: time, on: sql)
        }
    }

    /// Moves a member's read mark forward to `seq` (never back) and returns the mark, with its
    /// update when it moved: a chat update everyone sees (read ticks), or in a channel, where how
    /// far a subscriber has read is nobody else's business, one of the reader's own log.
    public func markRead(
        _ chatID: UUID, by userID: UUID, upTo seq: Int64, kind: ChatKind, at time: Timestamp
    ) async throws -> (mark: Int64, updates: LoggedUpdates) {
        try await engine.write { sql in
            // A read mark in a channel is the reader's own update; elsewhere it is the chat's.
            if kind == .channel {
                try await UpdateLog.lockPeopleFirst(on: sql) { [userID] }
            } else {
                try await UpdateLog.lockChatFirst(chatID, on: sql)
            }
            // Only forward, in one statement, so concurrent marks never move it back.
            let moved = try await sql.raw("""
                UPDATE chat_members SET last_read_seq = \(bind: seq)
                WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID) AND last_read_seq < \(bind: seq)
                RETURNING last_read_seq
                """).first()
            guard moved != nil else {
                let mark = try await sql.raw("""
                    SELECT last_read_seq FROM chat_members WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID)
                    """).first()?.decode(column: "last_read_seq", as: Int64.self) ?? 0
                return (mark, LoggedUpdates())
            }
            // A read mention is only counted while unread: it goes with the read.
            try await sql.raw("""
                DELETE FROM message_mentions WHERE chat_id = \(bind: chatID) AND user_id = \(bind: userID) AND seq <= \(bind: seq)
                """).run()
            if kind == .channel {
                return (seq, LoggedUpdates(account: [
                    try await UpdateLog.record(.read, for: userID, chatID: chatID, value: seq, at: time, on: sql),
                ]))
            }
            return (seq, LoggedUpdates(chat: [try await UpdateLog.record(.read, in: chatID, userID: userID, value: seq, at: time, on: sql)]))
        }
    }

    /// Unread counts stop at this: counting is a scan of the unread messages, and a chat list must not
    /// slow down with a busy channel nobody has read for a year. Clients show "999+".
    public static let unreadCountLimit = 1000

    /// Messages from others after the member's read mark, not deleted; at most `unreadCountLimit`.
    public func unreadCount(_ chatID: UUID, for userID: UUID) async throws -> Int {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT COUNT(*) AS n FROM (
                    SELECT 1 FROM messages u JOIN chat_members m ON m.chat_id = u.chat_id AND m.user_id = \(bind: userID)
                    WHERE u.chat_id = \(bind: chatID) AND u.seq > m.last_read_seq AND u.deleted_at IS NULL
                      AND (u.sender_id IS NULL OR u.sender_id <> m.user_id)
                    LIMIT \(unsafeRaw: String(Self.unreadCountLimit))
                ) unread
                """).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    // MARK: Channels

    public func channelInfo(_ chatID: UUID) async throws -> ChannelInfo? {
        guard let row = try await engine.read({ sql in
            try await sql.raw("SELECT username, description FROM channels WHERE id = \(bind: chatID)").first()
        }) else { return nil }
        return ChannelInfo(
            username: try row.decode(column: "username", as: String?.self).map { try Username($0) },
            description: try await keyring.open(try row.decode(column: "description", as: String?.self), Self.descriptionContext(chatID))
        )
    }

    /// The channel with a public username.
    public func channelID(username: Username) async throws -> UUID? {
        try await engine.read { sql in
            try await sql.raw("SELECT id FROM channels WHERE username = \(bind: username.value)").first()?.decode(column: "id", as: UUID.self)
        }
    }

    /// Changes a channel's username and description (nil leaves a field, .some(nil) clears it);
    /// returns its `chat_updated` update.
    @discardableResult
    public func updateChannel(_ chatID: UUID, username: Username??, description: String??, at time: Timestamp) async throws -> ChatUpdate {
        var assignments: [SQLQueryString] = ["updated_at = \(bind: time.milliseconds)"]
        if let username { assignments.append("username = \(bind: username?.value)") }
        if let description { assignments.append("description = \(bind: try await keyring.seal(description, Self.descriptionContext(chatID)))") }
        do {
            return try await engine.write { [assignments] sql in
                try await sql.raw("UPDATE channels SET \(assignments.joined(separator: ", ")) WHERE id = \(bind: chatID)").run()
                return try await UpdateLog.record(.chatUpdated, in: chatID, at: time, on: sql)
            }
        } catch {
            if let violation = UniqueViolation(error), violation.isOn(table: "channels", column: "username") {
                throw CourierError.taken("username")
            }
            throw error
        }
    }

    // MARK: Sealed names and descriptions

    var keyring: Keyring { cipher.keyring }

    static func nameContext(_ chatID: UUID) -> Keyring.FieldContext {
        Keyring.FieldContext(table: "chats", rowID: chatID, scope: .metadata, field: "name")
    }

    static func descriptionContext(_ chatID: UUID) -> Keyring.FieldContext {
        Keyring.FieldContext(table: "channels", rowID: chatID, scope: .metadata, field: "description")
    }

    /// The chat as stored: its name sealed.
    private func sealed(_ chat: Chat) async throws -> Chat {
        var stored = chat
        stored.name = try await keyring.seal(chat.name, Self.nameContext(chat.id))
        return stored
    }

    /// The chat as read: its name opened.
    func opened(_ chat: Chat) async throws -> Chat {
        var open = chat
        open.name = try await keyring.open(chat.name, Self.nameContext(chat.id))
        return open
    }

    // MARK: Helpers

    /// Stores a chat whose name is already sealed.
    private static func insert(_ chat: Chat, dmKey: String?, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO chats (id, type, name, owner_id, dm_key, last_seq, member_count, last_activity_at, created_at, updated_at, metadata_sealed)
            VALUES (\(bind: chat.id), \(bind: chat.kind.rawValue), \(bind: chat.name), \(bind: chat.ownerID), \(bind: dmKey),
                    \(bind: chat.lastSeq), \(bind: chat.memberCount), \(bind: chat.lastActivityAt.milliseconds),
                    \(bind: chat.createdAt.milliseconds), \(bind: chat.updatedAt.milliseconds), 1)
            """).run()
    }

    private static func insertMember(_ chatID: UUID, _ userID: UUID, role: ChatRole, at time: Timestamp, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO chat_members (chat_id, user_id, role, joined_at, last_read_seq, feed_pts)
            VALUES (\(bind: chatID), \(bind: userID), \(bind: role.rawValue), \(bind: time.milliseconds), 0,
                    (SELECT last_pts FROM chats WHERE id = \(bind: chatID)))
            """).run()
    }
}

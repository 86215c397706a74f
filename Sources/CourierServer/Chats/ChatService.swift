import CourierCore
import CourierStore
import Foundation

/// Groups and DMs: creating them, finding them, and managing members. Permission rules come from
/// `ChatPolicy`; this service applies them to stored state.
public struct ChatService: Sendable {
    let chats: ChatStore
    let users: UserStore
    let premium: PremiumService
    let events: EventPublisher
    let updates: UpdateStore

    public init(chats: ChatStore, users: UserStore, premium: PremiumService, events: EventPublisher, updates: UpdateStore) {
        self.updates = updates
        self.chats = chats
        self.users = users
        self.premium = premium
        self.events = events
    }

    /// A chat the user belongs to, with their membership.
    public struct Membered: Sendable {
        public let chat: Chat
        public let membership: ChatMembership
    }

    /// The chat, if `userID` is a member. Anyone else is told it does not exist: chat ids are not
    /// to be probed.
    public func memberAccess(_ chatID: UUID, for userID: UUID) async throws -> Membered {
        guard let found = try await chats.chat(chatID, asSeenBy: userID), let membership = found.membership else {
            throw CourierError.notFound("chat")
        }
        return Membered(chat: found.chat, membership: membership)
    }

    /// The chats a person is in (channels they follow included), the most recently active first, at most `limit`.
    public func chatIDs(of userID: UUID, limit: Int) async throws -> [UUID] {
        try await chats.chatIDs(of: userID, limit: limit)
    }

    /// Everyone in a chat, for delivering what happens in it.
    public func memberIDs(of chatID: UUID) async throws -> [UUID] {
        try await chats.memberIDs(of: chatID)
    }

    /// Creates a group owned by `ownerID` with the given members.
    public func createGroup(named rawName: String?, memberIDs: [String], by ownerID: UUID) async throws -> Chat {
        let name = try Self.chatName(rawName)
        let members = try await existingUsers(memberIDs, excluding: ownerID, field: "member_ids")
        if let limit = ChatPolicy.memberLimit(kind: .group, ownerIsPremium: try await premium.expireAndCheckPremium(ownerID)), members.count + 1 > limit {
            throw Self.memberLimitError(limit)
        }
        let now = Timestamp.now()
        let chat = Chat(
            id: UUID.random(), kind: .group, name: name, ownerID: ownerID, lastSeq: 0, memberCount: members.count + 1,
            lastActivityAt: now, createdAt: now, updatedAt: now
        )
        let updates = try await chats.create(chat, ownerID: ownerID, memberIDs: members, memberRole: .member)
        await events.stored(updates)
        return chat
    }

    /// The DM between `userID` and `peer`, created on first use.
    public func directChat(with rawPeer: String?, for userID: UUID) async throws -> (chat: Chat, created: Bool) {
        guard let rawPeer, let peerID = UUID(uuidString: rawPeer) else {
            throw CourierError.invalid("user_id", "user_id must be the id of the person to write to.")
        }
        guard peerID != userID else { throw CourierError.invalid("user_id", "A direct chat needs another person.") }
        guard try await users.find(id: peerID) != nil else {
            throw CourierError(.unprocessable, code: "unknown_user", message: "There is no user \(peerID.lowercasedString).", field: "user_id")
        }
        let result = try await chats.findOrCreateDM(between: userID, and: peerID, at: .now())
        await events.stored(result.updates)
        return (result.chat, result.created)
    }

    /// A page of the user's chat list, and their position in their own update log, read first: a
    /// device that loads the list and catches up from there misses no chat joined or left meanwhile.
    public func summaries(
        for userID: UUID, limit: Int, offset: Int
    ) async throws -> (summaries: [ChatStore.Summary], total: Int, accountPTS: Int64) {
        let accountPTS = try await updates.bounds(ofAccount: userID).newest
        let listed = try await chats.summaries(for: userID, limit: limit, offset: offset)
        return (try await withPeers(listed.summaries), listed.total, accountPTS)
    }

    /// The chat as its member sees it in the list (last message, unread count).
    public func summary(of chatID: UUID, for userID: UUID) async throws -> ChatStore.Summary {
        guard let summary = try await chats.summary(of: chatID, for: userID) else { throw CourierError.notFound("chat") }
        return try await withPeers([summary])[0]
    }

    /// Adds the other person's public profile to DM summaries, in one look-up for the whole page,
    /// so a client can name every DM without asking for each person.
    private func withPeers(_ summaries: [ChatStore.Summary]) async throws -> [ChatStore.Summary] {
        let ids = Array(Set(summaries.compactMap(\.peerID)))
        guard !ids.isEmpty else { return summaries }
        let peers = Dictionary(try await users.find(ids: ids).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return summaries.map { summary in
            var withPeer = summary
            withPeer.peer = summary.peerID.flatMap { peers[$0] }
            return withPeer
        }
    }

    /// Renames a group or channel (owner and admins).
    public func rename(_ chatID: UUID, to rawName: String?, by userID: UUID) async throws -> Chat {
        let access = try await memberAccess(chatID, for: userID)
        guard ChatPolicy.canEditInfo(kind: access.chat.kind, role: access.membership.role) else {
            throw Self.forbidden("Only the owner and admins can change this chat.")
        }
        let name = try Self.chatName(rawName)
        await events.stored(LoggedUpdates(chat: [try await chats.rename(chatID, to: name, at: .now())]))
        return try await memberAccess(chatID, for: userID).chat
    }

    /// A page of a chat's members with their profiles.
    public func members(
        of chatID: UUID, for userID: UUID, limit: Int, offset: Int
    ) async throws -> (members: [(membership: ChatMembership, user: User)], total: Int) {
        let access = try await memberAccess(chatID, for: userID)
        guard ChatPolicy.canListMembers(kind: access.chat.kind, role: access.membership.role) else {
            throw Self.forbidden("Only the owner and admins see who subscribes to a channel.")
        }
        let memberships = try await chats.members(of: chatID, limit: limit, offset: offset)
        let profiles = Dictionary(uniqueKeysWithValues: try await users.find(ids: memberships.map(\.userID)).map { ($0.id, $0) })
        let members = memberships.compactMap { membership in profiles[membership.userID].map { (membership, $0) } }
        return (members, access.chat.memberCount)
    }

    /// Adds people to a group (owner and admins); people already in it are left as they are.
    public func addMembers(_ rawIDs: [String], to chatID: UUID, by userID: UUID) async throws -> (added: [UUID], memberCount: Int) {
        let access = try await memberAccess(chatID, for: userID)
        guard ChatPolicy.canAddMembers(kind: access.chat.kind, role: access.membership.role) else {
            throw Self.forbidden(access.chat.kind == .group
                ? "Only the owner and admins can add members." : "Members cannot be added to this chat.")
        }
        let ids = try await existingUsers(rawIDs, excluding: nil, field: "user_ids")
        let ownerIsPremium = try await access.chat.ownerID.asyncMap { try await premium.expireAndCheckPremium($0) } ?? false
        let limit = ChatPolicy.memberLimit(kind: access.chat.kind, ownerIsPremium: ownerIsPremium)
        let result = try await chats.addMembers(
            ids, to: chatID, role: ChatPolicy.joiningRole(for: access.chat.kind), limit: limit,
            kind: access.chat.kind, at: .now()
        )
        await events.stored(result.updates)
        return (result.added, result.memberCount)
    }

    /// Removes someone else (owner and admins, over lower roles) or leaves (anyone, from a group or channel).
    public func removeMember(_ targetID: UUID, from chatID: UUID, by userID: UUID) async throws {
        let access = try await memberAccess(chatID, for: userID)
        if targetID == userID {
            guard ChatPolicy.canLeave(kind: access.chat.kind) else { throw Self.forbidden("A direct chat cannot be left.") }
        } else {
            guard let target = try await chats.chat(chatID, asSeenBy: targetID)?.membership else { throw CourierError.notFound("member") }
            guard ChatPolicy.canRemove(kind: access.chat.kind, actor: access.membership.role, target: target.role) else {
                throw Self.forbidden("You cannot remove this member.")
            }
        }
        if let updates = try await chats.removeMember(targetID, from: chatID, kind: access.chat.kind, at: .now()) {
            await events.stored(updates)
        }
    }

    /// Makes a member an admin or takes it back (owner only).
    public func setRole(_ rawRole: String, of targetID: UUID, in chatID: UUID, by userID: UUID) async throws -> ChatMembership {
        let access = try await memberAccess(chatID, for: userID)
        guard ChatPolicy.canChangeRoles(kind: access.chat.kind, actor: access.membership.role) else {
            throw Self.forbidden("Only the owner can change roles.")
        }
        let base = ChatPolicy.joiningRole(for: access.chat.kind)
        guard let role = ChatRole(rawValue: rawRole), role == .admin || role == base else {
            throw CourierError.invalid("role", "role must be admin or \(base.rawValue).")
        }
        guard targetID != userID else { throw CourierError.invalid("user_id", "The owner's role cannot be changed.") }
        guard let updates = try await chats.setRole(role, of: targetID, in: chatID, kind: access.chat.kind, at: .now()) else {
            throw CourierError.notFound("member")
        }
        await events.stored(updates)
        guard let membership = try await chats.chat(chatID, asSeenBy: targetID)?.membership else { throw CourierError.notFound("member") }
        return membership
    }

    /// Moves the user's read mark to `seq` (clamped to the newest message) and returns it with the unread count.
    public func markRead(
        _ chatID: UUID, upTo seq: Int64, by userID: UUID, connection: UUID? = nil
    ) async throws -> (lastReadSeq: Int64, unreadCount: Int, updates: LoggedUpdates) {
        let access = try await memberAccess(chatID, for: userID)
        guard seq >= 0 else { throw CourierError.invalid("seq", "seq must not be negative.") }
        let marked = try await chats.markRead(chatID, by: userID, upTo: min(seq, access.chat.lastSeq), kind: access.chat.kind, at: .now())
        await events.stored(marked.updates, excluding: connection)
        return (marked.mark, try await chats.unreadCount(chatID, for: userID), marked.updates)
    }

    /// Tells the other members that `userID` is typing (they must be allowed to post).
    public func typing(in chatID: UUID, by userID: UUID) async throws {
        let access = try await memberAccess(chatID, for: userID)
        guard ChatPolicy.canPost(kind: access.chat.kind, role: access.membership.role) else {
            throw Self.notAllowedToPost(in: access.chat.kind)
        }
        await events.typing(chatID: chatID, kind: access.chat.kind, by: userID)
    }

    // MARK: Rules shared with channels

    static func chatName(_ raw: String?) throws(CourierError) -> String {
        let name = raw?.trimmingWhitespace() ?? ""
        guard !name.isEmpty, name.count <= ChatPolicy.maxNameCharacters else {
            throw .invalid("name", "name must be 1 to \(ChatPolicy.maxNameCharacters) characters.")
        }
        return name
    }

    /// The refusal of a post (or of typing) by someone `ChatPolicy` does not let post in a chat of `kind`.
    static func notAllowedToPost(in kind: ChatKind) -> CourierError {
        CourierError(
            .forbidden, code: "not_allowed_to_post",
            message: kind == .channel ? "Only the channel's owner and admins can post." : "You cannot post in this chat."
        )
    }

    static func forbidden(_ message: String) -> CourierError {
        CourierError(.forbidden, code: "forbidden", message: message)
    }

    static func memberLimitError(_ limit: Int) -> CourierError {
        CourierError(.forbidden, code: "group_member_limit", message: "A group holds at most \(limit) members unless its owner has premium.")
    }

    /// Parses and checks ids of people to add: each must be a UUID of an existing account, listed once.
    private func existingUsers(_ rawIDs: [String], excluding ownID: UUID?, field: String) async throws -> [UUID] {
        guard rawIDs.count <= ChatPolicy.maxMembersPerRequest else {
            throw CourierError.invalid(field, "At most \(ChatPolicy.maxMembersPerRequest) people per request.")
        }
        var seen = Set<UUID>()
        var ids: [UUID] = []
        var bad: [String] = []
        for raw in rawIDs {
            guard let id = UUID(uuidString: raw), id != ownID, seen.insert(id).inserted else {
                bad.append(raw)
                continue
            }
            ids.append(id)
        }
        let known = Set(try await users.find(ids: ids).map(\.id))
        bad += ids.filter { !known.contains($0) }.map(\.lowercasedString)
        guard bad.isEmpty else {
            throw CourierError(
                .unprocessable, code: "invalid_members",
                message: "Unknown or duplicate ids in \(field): \(bad.joined(separator: ", ")).", field: field
            )
        }
        return ids
    }
}

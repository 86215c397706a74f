import CourierCore
import CourierStore
import Foundation
import Hummingbird

struct CreateChatRequest: Decodable {
    let type: String
    let name: String?
    let memberIDs: [String]?
    let userID: String?

    enum CodingKeys: String, CodingKey {
        case type, name
        case memberIDs = "member_ids"
        case userID = "user_id"
    }
}

struct RenameChatRequest: Decodable {
    let name: String?
}

struct AddMembersRequest: Decodable {
    let userIDs: [String]?
    let userID: String?

    enum CodingKeys: String, CodingKey {
        case userIDs = "user_ids"
        case userID = "user_id"
    }

    /// `user_ids`, or the single `user_id`.
    var ids: [String] { userIDs ?? userID.map { [$0] } ?? [] }
}

struct SetRoleRequest: Decodable {
    let role: String
}

struct ReadRequest: Decodable {
    let seq: Int64
}

/// A chat, with the reader's place in it when known.
struct ChatResponse: ResponseEncodable {
    let id: String
    let type: ChatKind
    let name: String?
    let ownerID: String?
    let memberCount: Int
    let lastSeq: Int64
    let lastActivityAt: Timestamp
    let createdAt: Timestamp
    let updatedAt: Timestamp
    let role: ChatRole?
    let lastReadSeq: Int64?
    let unreadCount: Int?
    let lastMessage: MessageResponse?
    let peerID: String?
    let othersLastReadSeq: Int64?
    let peer: PublicUserResponse?
    /// The chat's position in the update log as read here: catch up from it.
    let pts: Int64
    /// The reader's own settings (with a summary): pinned to the top since, muted until, archived.
    let pinnedAt: Timestamp?
    let mutedUntil: Timestamp?
    let archived: Bool?
    /// The reader's draft in the chat.
    let draft: String?
    /// Mentions of the reader after their read mark, and the `seq` of the first (to jump to).
    let unreadMentions: Int?
    let firstUnreadMentionSeq: Int64?

    enum CodingKeys: String, CodingKey {
        case id, type, name, role, pts, archived, draft
        case pinnedAt = "pinned_at"
        case mutedUntil = "muted_until"
        case unreadMentions = "unread_mentions"
        case firstUnreadMentionSeq = "first_unread_mention_seq"
        case ownerID = "owner_id"
        case memberCount = "member_count"
        case lastSeq = "last_seq"
        case lastActivityAt = "last_activity_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case lastReadSeq = "last_read_seq"
        case unreadCount = "unread_count"
        case lastMessage = "last_message"
        case peerID = "peer_id"
        case othersLastReadSeq = "others_last_read_seq"
        case peer
    }

    /// A chat; with a summary, also the reader's role, read state and the last message.
    init(_ chat: Chat, role: ChatRole? = nil, summary: ChatStore.Summary? = nil) {
        id = chat.id.lowercasedString
        type = chat.kind
        name = chat.name
        ownerID = chat.ownerID?.lowercasedString
        memberCount = chat.memberCount
        lastSeq = chat.lastSeq
        lastActivityAt = chat.lastActivityAt
        createdAt = chat.createdAt
        updatedAt = chat.updatedAt
        self.role = summary?.membership.role ?? role
        lastReadSeq = summary?.membership.lastReadSeq
        unreadCount = summary?.unreadCount
        lastMessage = summary?.lastMessage.map(MessageResponse.init)
        peerID = summary?.peerID?.lowercasedString
        othersLastReadSeq = summary?.othersLastReadSeq
        peer = summary?.peer.map(PublicUserResponse.init)
        pts = chat.pts
        pinnedAt = summary?.settings.pinnedAt
        mutedUntil = summary?.settings.isMuted() == true ? summary?.settings.mutedUntil : nil
        archived = summary?.settings.archived
        draft = summary?.draft
        unreadMentions = summary?.unreadMentions
        firstUnreadMentionSeq = summary?.firstUnreadMentionSeq
    }

    init(_ summary: ChatStore.Summary) {
        self.init(summary.chat, summary: summary)
    }
}

struct ChatListResponse: ResponseEncodable {
    let chats: [ChatResponse]
    let total: Int
    let hasMore: Bool
    /// The reader's position in their own update log, read before the list: catch up from it.
    let accountPTS: Int64

    enum CodingKeys: String, CodingKey {
        case chats, total
        case hasMore = "has_more"
        case accountPTS = "account_pts"
    }
}

struct MemberResponse: Encodable {
    let user: PublicUserResponse
    let role: ChatRole
    let joinedAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case user, role
        case joinedAt = "joined_at"
    }
}

struct MemberListResponse: ResponseEncodable {
    let members: [MemberResponse]
    let total: Int
}

struct MembersAddedResponse: ResponseEncodable {
    let added: [String]
    let memberCount: Int

    enum CodingKeys: String, CodingKey {
        case added
        case memberCount = "member_count"
    }
}

struct MembershipResponse: ResponseEncodable {
    let chatID: String
    let userID: String
    let role: ChatRole

    enum CodingKeys: String, CodingKey {
        case role
        case chatID = "chat_id"
        case userID = "user_id"
    }
}

struct ReadStateResponse: ResponseEncodable {
    let chatID: String
    let lastReadSeq: Int64
    let unreadCount: Int

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
        case lastReadSeq = "last_read_seq"
        case unreadCount = "unread_count"
    }
}

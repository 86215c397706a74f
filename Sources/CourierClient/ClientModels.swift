import Foundation

/// What the server answers when signing in.
public struct SignedIn: Decodable, Sendable {
    public struct User: Decodable, Sendable {
        public let id: String
        public let username: String
        public let isPremium: Bool?

        enum CodingKeys: String, CodingKey {
            case id, username
            case isPremium = "is_premium"
        }
    }

    public let user: User
    public let token: String
    public let refreshToken: String

    enum CodingKeys: String, CodingKey {
        case user, token
        case refreshToken = "refresh_token"
    }
}

/// A message as the API shows it.
public struct ChatMessage: Decodable, Sendable, Equatable {
    public let id: String
    public let chatID: String
    public let seq: Int64
    public let senderID: String?
    public let content: String
    public let messageType: String
    public let clientMessageID: String?
    public let createdAt: String
    public let deletedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, seq, content
        case chatID = "chat_id"
        case senderID = "sender_id"
        case messageType = "message_type"
        case clientMessageID = "client_msg_id"
        case createdAt = "created_at"
        case deletedAt = "deleted_at"
    }
}

/// A chat in the chat list.
public struct ChatSummary: Decodable, Sendable {
    public let id: String
    public let type: String
    public let name: String?
    public let lastSeq: Int64
    public let unreadCount: Int?
    public let peerID: String?
    /// The chat's position in the update log when it was read: catch up from here.
    public let pts: Int64

    enum CodingKeys: String, CodingKey {
        case id, type, name, pts
        case lastSeq = "last_seq"
        case unreadCount = "unread_count"
        case peerID = "peer_id"
    }
}

/// A page of history.
public struct MessagePage: Decodable, Sendable {
    public let messages: [ChatMessage]
    public let total: Int
    public let hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case messages, total
        case hasMore = "has_more"
    }
}

/// An error the API answered with.
public struct CourierAPIError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String

    public var description: String { "\(status) \(code): \(message)" }
}

import CourierCore
import Foundation
import Hummingbird

/// `POST /messages` and the WebSocket `message` frame: a post plus the chat it goes to.
struct SendMessageRequest: Decodable {
    let chatID: String
    let post: PostRequest

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
    }

    init(from decoder: any Decoder) throws {
        chatID = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .chatID)
        post = try PostRequest(from: decoder)
    }

    func draft() throws(CourierError) -> MessageDraft {
        guard let chatID = UUID(uuidString: chatID) else {
            throw .invalid("chat_id", "chat_id must be a chat id.")
        }
        return try post.draft(chatID: chatID)
    }
}

/// A message's content, without its chat (a channel post's path gives the chat).
struct PostRequest: Decodable {
    let content: String?
    let messageType: String?
    let mediaURL: String?
    let attachments: [String]?
    let metadata: [String: JSONValue]?
    let replyToID: String?
    let clientMessageID: String?

    enum CodingKeys: String, CodingKey {
        case content, attachments, metadata
        case messageType = "message_type"
        case mediaURL = "media_url"
        case replyToID = "reply_to_id"
        case clientMessageID = "client_msg_id"
    }

    /// The validated draft for `chatID`.
    func draft(chatID: UUID) throws(CourierError) -> MessageDraft {
        let kind = messageType.map { MessageKind(rawValue: $0) } ?? .text
        guard let kind else {
            throw .invalid("message_type", "message_type must be one of text, image, video, audio, file.")
        }
        var reply: UUID?
        if let replyToID {
            guard let id = UUID(uuidString: replyToID) else { throw .invalid("reply_to_id", "reply_to_id must be a message id.") }
            reply = id
        }
        return try MessageDraft(
            chatID: chatID, content: content ?? "", kind: kind, mediaURL: mediaURL, attachments: attachments ?? [],
            metadata: metadata, replyToID: reply, clientMessageID: clientMessageID
        )
    }
}

struct EditMessageRequest: Decodable {
    let content: String
}

struct ForwardRequest: Decodable {
    let chatID: String

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
    }
}

struct MessageResponse: ResponseEncodable {
    struct ForwardedFrom: Encodable {
        let messageID: String
        let senderID: String?

        enum CodingKeys: String, CodingKey {
            case messageID = "message_id"
            case senderID = "sender_id"
        }
    }

    let id: String
    let chatID: String
    let seq: Int64
    let senderID: String?
    let content: String
    let messageType: MessageKind
    let mediaURL: String?
    let attachments: [String]
    /// What clients show of each attachment, in the same order.
    let media: [MediaAttachment]
    let metadata: [String: JSONValue]?
    let replyToID: String?
    let forwardedFrom: ForwardedFrom?
    let clientMessageID: String?
    let createdAt: Timestamp
    let updatedAt: Timestamp
    let editedAt: Timestamp?
    let deletedAt: Timestamp?
    /// Most used first; `user_ids` lists who (the first 50; empty in channels, counts only).
    let reactions: [ReactionResponse]
    /// Your own reaction, where the answer is for you (history, search, your own change).
    let myReaction: String?

    enum CodingKeys: String, CodingKey {
        case id, seq, content, attachments, media, metadata, reactions
        case chatID = "chat_id"
        case senderID = "sender_id"
        case messageType = "message_type"
        case mediaURL = "media_url"
        case replyToID = "reply_to_id"
        case forwardedFrom = "forwarded_from"
        case clientMessageID = "client_msg_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case editedAt = "edited_at"
        case deletedAt = "deleted_at"
        case myReaction = "my_reaction"
    }

    init(_ message: Message) {
        id = message.id.lowercasedString
        chatID = message.chatID.lowercasedString
        seq = message.seq
        senderID = message.senderID?.lowercasedString
        content = message.content
        messageType = message.kind
        mediaURL = message.mediaURL
        attachments = message.attachments
        media = message.media
        metadata = message.metadata
        reactions = message.reactions.map(ReactionResponse.init)
        myReaction = message.myReaction
        replyToID = message.replyToID?.lowercasedString
        forwardedFrom = message.forwardedFromID.map { ForwardedFrom(messageID: $0.lowercasedString, senderID: message.forwardedFromSenderID?.lowercasedString) }
        clientMessageID = message.clientMessageID
        createdAt = message.createdAt
        updatedAt = message.updatedAt
        editedAt = message.editedAt
        deletedAt = message.deletedAt
    }
}

struct MessagePageResponse: ResponseEncodable {
    let messages: [MessageResponse]
    let total: Int
    let hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case messages, total
        case hasMore = "has_more"
    }

    init(_ page: MessagePage) {
        messages = page.messages.map(MessageResponse.init)
        total = page.total
        hasMore = page.hasMore
    }
}

struct ReactionResponse: Encodable {
    let emoji: String
    let count: Int
    let userIDs: [String]

    enum CodingKeys: String, CodingKey {
        case emoji, count
        case userIDs = "user_ids"
    }

    init(_ count: ReactionCount) {
        emoji = count.emoji
        self.count = count.count
        userIDs = count.userIDs
    }
}

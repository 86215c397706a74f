import CourierCore
import Foundation

/// Frames a client sends over WebSocket. Every frame is a JSON object with a `type` and an
/// optional `ref`, echoed in the reply so a client can match them.
enum ClientFrame {
    struct Header: Decodable {
        let type: String
        let ref: String?
    }

    struct Edit: Decodable {
        let messageID: String
        let content: String

        enum CodingKeys: String, CodingKey {
            case content
            case messageID = "message_id"
        }
    }

    struct Delete: Decodable {
        let messageID: String
        let scope: String?

        enum CodingKeys: String, CodingKey {
            case messageID = "message_id"
            case scope = "for"
        }
    }

    struct Read: Decodable {
        let chatID: String
        let seq: Int64

        enum CodingKeys: String, CodingKey {
            case seq
            case chatID = "chat_id"
        }
    }

    struct Typing: Decodable {
        let chatID: String

        enum CodingKeys: String, CodingKey {
            case chatID = "chat_id"
        }
    }

    struct SubscribePresence: Decodable {
        let userIDs: [String]

        enum CodingKeys: String, CodingKey {
            case userIDs = "user_ids"
        }
    }

    /// The device's positions: in its own log (`account_pts`, absent on a first start) and per chat
    /// (`pts`); the server sends every update after them, at most `limit`.
    struct Resume: Decodable {
        let accountPTS: Int64?
        let chats: [String: Int64]?
        let limit: Int?

        enum CodingKeys: String, CodingKey {
            case chats, limit
            case accountPTS = "account_pts"
        }
    }
}

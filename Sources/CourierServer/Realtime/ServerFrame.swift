import CourierCore
import Foundation

/// Frames the server sends over WebSocket: a JSON object with a `type`, as in the REST contract.
enum ServerFrame {
    struct NewMessage: Encodable {
        let type: String
        let message: MessageResponse
    }

    struct MessageDeleted: Encodable {
        let type = "message_deleted"
        let chatID: String
        let messageID: String
        let seq: Int64

        enum CodingKeys: String, CodingKey {
            case type, seq
            case chatID = "chat_id"
            case messageID = "message_id"
        }
    }

    struct Read: Encodable {
        let type = "read"
        let chatID: String
        let userID: String
        let seq: Int64

        enum CodingKeys: String, CodingKey {
            case type, seq
            case chatID = "chat_id"
            case userID = "user_id"
        }
    }

    struct Typing: Encodable {
        let type = "typing"
        let chatID: String
        let userID: String

        enum CodingKeys: String, CodingKey {
            case type
            case chatID = "chat_id"
            case userID = "user_id"
        }
    }

    struct Presence: Encodable {
        let type = "presence"
        let userID: String
        let online: Bool
        let lastSeen: Timestamp?

        enum CodingKeys: String, CodingKey {
            case type, online
            case userID = "user_id"
            case lastSeen = "last_seen"
        }
    }

    /// `chat_created`, `member_added`, `member_removed`, `chat_updated`.
    struct Membership: Encodable {
        let type: String
        let chatID: String
        let userIDs: [String]

        enum CodingKeys: String, CodingKey {
            case type
            case chatID = "chat_id"
            case userIDs = "user_ids"
        }
    }

    /// The reply to a client frame: the result, or `error`.
    struct Ack: Encodable {
        let type = "ack"
        var ref: String?
        var clientMessageID: String?
        var id: String?
        var seq: Int64?
        var chatID: String?
        var message: MessageResponse?
        var lastReadSeq: Int64?
        var error: ErrorBody?

        enum CodingKeys: String, CodingKey {
            case type, ref, id, seq, message, error
            case clientMessageID = "client_msg_id"
            case chatID = "chat_id"
            case lastReadSeq = "last_read_seq"
        }
    }

    struct ErrorBody: Encodable {
        let code: String
        let message: String
    }

    /// A problem with a frame that has no ack (malformed JSON, unknown type).
    struct Error: Encodable {
        let type = "error"
        let ref: String?
        let error: ErrorBody
    }

    struct Pong: Encodable {
        let type = "pong"
        let ref: String?
    }

    /// Sent after the history a `resume` asked for: per chat, the newest `seq` now on the device.
    struct Resumed: Encodable {
        let type = "resumed"
        let chats: [String: Int64]
    }

    /// The `new_message` frame of a message: the same text for live delivery and for resume.
    static func newMessage(_ message: Message) -> String {
        text(NewMessage(type: "new_message", message: MessageResponse(message)))
    }

    /// The JSON text of a frame.
    static func text(_ frame: some Encodable) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(frame), as: UTF8.self)
        } catch {
            return #"{"type":"error","error":{"code":"internal_error","message":"A frame could not be encoded."}}"#
        }
    }
}

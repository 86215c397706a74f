import CourierCore
import Foundation

/// Frames the server sends over WebSocket besides updates (`UpdateFrame`): replies and ephemeral
/// events. A JSON object with a `type`, as in the REST contract.
enum ServerFrame {
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
        /// The position of the update the frame wrote in its chat's log (or, with `account_pts`, in
        /// the person's own), so the device's position moves on without a gap.
        var pts: Int64?
        var accountPTS: Int64?
        /// Call frames: the call and its state after the frame.
        var callID: String?
        var callState: String?
        var error: ErrorBody?

        init(ref: String?, callID: String? = nil, callState: String? = nil) {
            self.ref = ref
            self.callID = callID
            self.callState = callState
        }

        enum CodingKeys: String, CodingKey {
            case type, ref, id, seq, message, error, pts
            case callID = "call_id"
            case callState = "call_state"
            case clientMessageID = "client_msg_id"
            case chatID = "chat_id"
            case lastReadSeq = "last_read_seq"
            case accountPTS = "account_pts"
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

    /// Sent after the updates a `resume` asked for: the device's positions now, and what to do next.
    struct Resumed: Encodable {
        let type = "resumed"
        let ref: String?
        let difference: DifferenceResponse

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encodeIfPresent(ref, forKey: .ref)
            try difference.encodePositions(to: encoder)
        }

        enum CodingKeys: String, CodingKey { case type, ref }
    }

    /// The JSON text of a frame.
    static func text(_ frame: some Encodable) -> String {
        do {
            // One pass into one byte array (`StreamingJSONEncoder`), not Foundation's tree of boxed
            // values: a new message's frame and its ack each took less than half the time.
            return try StreamingJSONEncoder().encodeText(frame)
        } catch {
            return #"{"type":"error","error":{"code":"internal_error","message":"A frame could not be encoded."}}"#
        }
    }
}

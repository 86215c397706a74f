import CourierCore
import Foundation

/// A call's signalling frame from the server (`call_incoming`, `call_ringing`, `call_accepted`,
/// `call_ice`, `call_media`, `call_ended`), with the fields its type uses.
struct CallEventFrame: Encodable {
    let type: String
    let callID: String
    var chatID: String?
    var callerID: String?
    var calleeID: String?
    var userID: String?
    var video: Bool?
    var sdp: String?
    var candidate: String?
    /// `call_accepted` to the callee's other devices: stop ringing, another device answered.
    var answeredElsewhere: Bool?
    var muted: Bool?
    var cameraOff: Bool?
    var outcome: String?
    var durationSeconds: Int64?
    var createdAt: Timestamp?

    init(_ type: String, _ call: Call) {
        self.type = type
        self.callID = call.id.lowercasedString
    }

    enum CodingKeys: String, CodingKey {
        case type, video, sdp, candidate, muted, outcome
        case callID = "call_id"
        case chatID = "chat_id"
        case callerID = "caller_id"
        case calleeID = "callee_id"
        case userID = "user_id"
        case answeredElsewhere = "answered_elsewhere"
        case cameraOff = "camera_off"
        case durationSeconds = "duration_seconds"
        case createdAt = "created_at"
    }

    var text: String { ServerFrame.text(self) }
}

/// A call's signalling frame from a client (`call_invite`, `call_ringing`, `call_accept`,
/// `call_reject`, `call_hangup`, `call_ice`, `call_media`, `call_ping`): the fields its type uses.
struct CallClientFrame: Decodable {
    var callID: String?
    var chatID: String?
    var video: Bool?
    var sdp: String?
    var candidate: String?
    var muted: Bool?
    var cameraOff: Bool?

    enum CodingKeys: String, CodingKey {
        case video, sdp, candidate, muted
        case callID = "call_id"
        case chatID = "chat_id"
        case cameraOff = "camera_off"
    }

    func call() throws -> UUID { try UUID.parse(callID ?? "", field: "call_id") }
}

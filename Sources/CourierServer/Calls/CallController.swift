import CourierCore
import Foundation
import Hummingbird

/// `/api/v1/calls`: where to find STUN and TURN servers (with fresh credentials), the call you are
/// in, and the "relay all my calls" setting. Signalling itself is on the WebSocket.
struct CallController {
    let calls: CallService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("ice-servers", use: iceServers)
        group.get("current", use: current)
        group.get("settings", use: settings)
        group.patch("settings", use: updateSettings)
    }

    struct ICEServer: Encodable {
        let urls: [String]
        var username: String?
        var credential: String?
    }

    struct ICEServersResponse: ResponseEncodable {
        let iceServers: [ICEServer]
        /// When the TURN credential stops working; ask again before.
        let expiresAt: Timestamp?
        /// The person's "relay all my calls": connect through TURN only (`iceTransportPolicy: "relay"`).
        let relayOnly: Bool

        enum CodingKeys: String, CodingKey {
            case iceServers = "ice_servers"
            case expiresAt = "expires_at"
            case relayOnly = "relay_only"
        }
    }

    @Sendable func iceServers(request: Request, context: AuthenticatedContext) async throws -> ICEServersResponse {
        let offer = try await calls.iceServers(for: context.user.userID)
        var servers: [ICEServer] = []
        if !offer.stun.isEmpty { servers.append(ICEServer(urls: offer.stun)) }
        if let credentials = offer.credentials, !offer.turn.isEmpty {
            servers.append(ICEServer(urls: offer.turn, username: credentials.username, credential: credentials.password))
        }
        return ICEServersResponse(iceServers: servers, expiresAt: offer.credentials?.expiresAt, relayOnly: offer.relayOnly)
    }

    struct CallResponse: Encodable {
        let id: String
        let chatID: String
        let callerID: String
        let calleeID: String
        let video: Bool
        let state: String
        let createdAt: Timestamp
        let acceptedAt: Timestamp?
        /// Whether this device is the one in the call (its caller's, or the one that answered).
        let onThisDevice: Bool

        enum CodingKeys: String, CodingKey {
            case id, video, state
            case chatID = "chat_id"
            case callerID = "caller_id"
            case calleeID = "callee_id"
            case createdAt = "created_at"
            case acceptedAt = "accepted_at"
            case onThisDevice = "on_this_device"
        }
    }

    struct CurrentResponse: ResponseEncodable {
        let call: CallResponse?
        /// The caller's session description, while the call rings and you are its callee.
        let sdp: String?
    }

    @Sendable func current(request: Request, context: AuthenticatedContext) async throws -> CurrentResponse {
        guard let (call, offer) = try await calls.current(for: context.user.userID) else { return CurrentResponse(call: nil, sdp: nil) }
        let session = context.user.sessionID
        return CurrentResponse(
            call: CallResponse(
                id: call.id.lowercasedString, chatID: call.chatID.lowercasedString, callerID: call.callerID.lowercasedString, calleeID: call.calleeID.lowercasedString,
                video: call.video, state: call.state.rawValue, createdAt: call.createdAt, acceptedAt: call.acceptedAt,
                onThisDevice: session == call.callerSession || session == call.calleeSession
            ),
            sdp: offer
        )
    }

    struct SettingsBody: ResponseEncodable, Decodable {
        let relayOnly: Bool

        enum CodingKeys: String, CodingKey { case relayOnly = "relay_only" }
    }

    @Sendable func settings(request: Request, context: AuthenticatedContext) async throws -> SettingsBody {
        SettingsBody(relayOnly: try await calls.relaysAllCalls(context.user.userID))
    }

    @Sendable func updateSettings(request: Request, context: AuthenticatedContext) async throws -> SettingsBody {
        let body = try await request.decodeJSON(as: SettingsBody.self, context: context)
        try await calls.setRelaysAllCalls(context.user.userID, body.relayOnly)
        return body
    }
}

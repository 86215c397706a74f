import CourierCore
import CourierRealtime
import Foundation
import Logging

/// One WebSocket connection's conversation: decodes each client frame, calls the same services as
/// the REST routes, and answers on the connection. Frames are handled one at a time, in order.
actor GatewaySession {
    /// Chats a `resume` may ask for at once, and messages it sends per chat before the client must ask again.
    static let maxResumeChats = 500
    static let resumePageSize = 100

    let user: AuthenticatedUser
    let connection: DeviceConnection
    let services: AppServices
    let presence: PresenceService
    let typingInterval: Duration
    let logger: Logger
    private var lastTyping: [UUID: ContinuousClock.Instant] = [:]

    init(user: AuthenticatedUser, connection: DeviceConnection, services: AppServices, presence: PresenceService, typingInterval: Duration, logger: Logger) {
        self.user = user
        self.connection = connection
        self.services = services
        self.presence = presence
        self.typingInterval = typingInterval
        self.logger = logger
    }

    /// Handles one text frame. Bad frames get an `error` frame; the connection stays open.
    func handle(_ text: String) async {
        let data = Data(text.utf8)
        let header: ClientFrame.Header
        do {
            header = try JSONDecoder().decode(ClientFrame.Header.self, from: data)
        } catch {
            reply(ServerFrame.Error(ref: nil, error: .init(code: "invalid_frame", message: "A frame must be a JSON object with a string 'type'.")))
            return
        }
        do {
            // Each frame counts against the same budget as a REST request.
            try await services.premium.takeRequestBudget(of: user.userID)
            try await dispatch(header, data)
        } catch {
            let failure = Self.courierError(error, logger: logger)
            if header.type == "message" || ["edit", "delete", "read"].contains(header.type) {
                var ack = ServerFrame.Ack(ref: header.ref)
                ack.clientMessageID = (try? JSONDecoder().decode(ClientMessageID.self, from: data))?.clientMessageID
                ack.error = .init(code: failure.code, message: failure.message)
                reply(ack)
            } else {
                reply(ServerFrame.Error(ref: header.ref, error: .init(code: failure.code, message: failure.message)))
            }
        }
    }

    private func dispatch(_ header: ClientFrame.Header, _ data: Data) async throws {
        let decoder = JSONDecoder()
        let me = user.userID
        switch header.type {
        case "message":
            let request = try decoder.decode(SendMessageRequest.self, from: data)
            let sent = try await services.messages.send(try request.draft(), from: me, connection: connection.id)
            var ack = ServerFrame.Ack(ref: header.ref)
            ack.clientMessageID = sent.message.clientMessageID
            ack.id = sent.message.id.apiString
            ack.seq = sent.message.seq
            ack.chatID = sent.message.chatID.apiString
            ack.message = MessageResponse(sent.message)
            reply(ack)
        case "edit":
            let frame = try decoder.decode(ClientFrame.Edit.self, from: data)
            let edited = try await services.messages.edit(try .parse(frame.messageID, field: "message_id"), content: frame.content, by: me, connection: connection.id)
            var ack = ServerFrame.Ack(ref: header.ref)
            ack.id = edited.id.apiString
            ack.message = MessageResponse(edited)
            reply(ack)
        case "delete":
            let frame = try decoder.decode(ClientFrame.Delete.self, from: data)
            guard frame.scope == nil || frame.scope == "everyone" || frame.scope == "me" else {
                throw CourierError.invalid("for", "'for' must be everyone or me.")
            }
            let id = try UUID.parse(frame.messageID, field: "message_id")
            try await services.messages.delete(id, forEveryone: frame.scope != "me", by: me, connection: connection.id)
            var ack = ServerFrame.Ack(ref: header.ref)
            ack.id = id.apiString
            reply(ack)
        case "read":
            let frame = try decoder.decode(ClientFrame.Read.self, from: data)
            let chatID = try UUID.parse(frame.chatID, field: "chat_id")
            let state = try await services.chats.markRead(chatID, upTo: frame.seq, by: me, connection: connection.id)
            var ack = ServerFrame.Ack(ref: header.ref)
            ack.chatID = chatID.apiString
            ack.lastReadSeq = state.lastReadSeq
            reply(ack)
        case "typing":
            let frame = try decoder.decode(ClientFrame.Typing.self, from: data)
            let chatID = try UUID.parse(frame.chatID, field: "chat_id")
            // Ephemeral and rate-limited: extra typing frames within the interval are dropped.
            let now = ContinuousClock.now
            if let last = lastTyping[chatID], now - last < typingInterval { return }
            lastTyping[chatID] = now
            try await services.chats.typing(in: chatID, by: me)
        case "subscribe_presence":
            let frame = try decoder.decode(ClientFrame.SubscribePresence.self, from: data)
            let ids = try frame.userIDs.prefix(ChatPolicy.maxMembersPerRequest).map { try UUID.parse($0, field: "user_ids") }
            for status in try await presence.status(of: ids, for: me) {
                reply(ServerFrame.Presence(userID: status.userID.apiString, online: status.online, lastSeen: status.lastSeen))
            }
        case "resume":
            try await resume(try decoder.decode(ClientFrame.Resume.self, from: data))
        case "ping":
            reply(ServerFrame.Pong(ref: header.ref))
        default:
            throw CourierError(.badRequest, code: "invalid_frame", message: "Unknown frame type '\(header.type)'.")
        }
    }

    /// Sends, per chat and in order, every message newer than the client's `seq`, holding live
    /// traffic back meanwhile; then `resumed`, then the live frames it has not already sent.
    private func resume(_ frame: ClientFrame.Resume) async throws {
        guard frame.chats.count <= Self.maxResumeChats else {
            throw CourierError.invalid("chats", "Resume at most \(Self.maxResumeChats) chats at once.")
        }
        let chats = try frame.chats.map { (try UUID.parse($0.key, field: "chats"), max(0, $0.value)) }
        connection.beginResume()
        var sentUpTo: [UUID: Int64] = [:]
        // Live traffic flows again whatever happens, after `resumed` when all went well.
        defer { connection.releaseLiveFrames(resumedUpTo: sentUpTo) }
        for (chatID, seq) in chats {
            var after = seq
            do {
                while true {
                    let page = try await services.messages.history(
                        of: chatID, for: user.userID, PageRequest(limit: Self.resumePageSize, position: .after(seq: after))
                    )
                    for message in page.messages {
                        let sequence = ChatSequence(chatID: chatID, seq: message.seq)
                        after = message.seq
                        if connection.hasSent(sequence) { continue }
                        connection.send(ServerFrame.newMessage(message), sequence: sequence)
                    }
                    if !page.hasMore { break }
                }
                sentUpTo[chatID] = after
            } catch let error as CourierError where error.kind == .notFound {
                reply(ServerFrame.Error(ref: nil, error: .init(code: "chat_not_found", message: "Not a member of chat \(chatID.apiString).")))
            }
        }
        reply(ServerFrame.Resumed(chats: Dictionary(uniqueKeysWithValues: sentUpTo.map { ($0.key.apiString, $0.value) })))
    }

    private func reply(_ frame: some Encodable) {
        connection.send(ServerFrame.text(frame))
    }

    private struct ClientMessageID: Decodable {
        let clientMessageID: String?
        enum CodingKeys: String, CodingKey { case clientMessageID = "client_msg_id" }
    }

    static func courierError(_ error: any Error, logger: Logger) -> CourierError {
        switch error {
        case let error as CourierError: return error
        case let error as DecodingError: return CourierError(decoding: error)
        default:
            logger.error("frame failed", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }
}

import CourierCore
import CourierRealtime
import Foundation
import Logging

/// One WebSocket connection's conversation: decodes each client frame, calls the same services as
/// the REST routes, and answers on the connection. Frames are handled one at a time, in order.
///
/// Each frame type has one typed handler in `handlers`; every failure becomes a reply through the
/// same `ErrorMapper` the REST routes use, so a bad request is told the same way on both.
actor GatewaySession {
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

    /// How one frame type is handled.
    struct Handler: Sendable {
        /// Frames that change something answer with an `ack`, also when they fail (with its
        /// `error`); the others answer failures with an `error` frame.
        let acknowledges: Bool
        let run: @Sendable (GatewaySession, Data, String?) async throws -> Void

        /// A handler of frames of body type `Frame`.
        static func on<Frame: Decodable>(
            _: Frame.Type, acknowledges: Bool = false, _ run: @escaping @Sendable (GatewaySession, Frame, String?) async throws -> Void
        ) -> Handler {
            Handler(acknowledges: acknowledges) { session, data, ref in
                try await run(session, try JSONDecoder().decode(Frame.self, from: data), ref)
            }
        }
    }

    /// Every frame type a client may send.
    static let handlers: [String: Handler] = [
        "message": .on(SendMessageRequest.self, acknowledges: true) { try await $0.sendMessage($1, ref: $2) },
        "edit": .on(ClientFrame.Edit.self, acknowledges: true) { try await $0.edit($1, ref: $2) },
        "delete": .on(ClientFrame.Delete.self, acknowledges: true) { try await $0.delete($1, ref: $2) },
        "read": .on(ClientFrame.Read.self, acknowledges: true) { try await $0.read($1, ref: $2) },
        "typing": .on(ClientFrame.Typing.self) { session, frame, _ in try await session.typing(frame) },
        "subscribe_presence": .on(ClientFrame.SubscribePresence.self) { session, frame, _ in try await session.subscribePresence(frame) },
        "resume": .on(ClientFrame.Resume.self) { try await $0.resume($1, ref: $2) },
        "ping": .on(ClientFrame.Header.self) { session, _, ref in await session.reply(ServerFrame.Pong(ref: ref)) },
        "call_invite": .on(CallClientFrame.self, acknowledges: true) { session, frame, ref in
            let call = try await session.services.calls.invite(
                chatID: try UUID.parse(frame.chatID ?? "", field: "chat_id"), video: frame.video ?? false, sdp: frame.sdp ?? "", by: session.user
            )
            await session.reply(ServerFrame.Ack(ref: ref, callID: call.id.lowercasedString, callState: call.state.rawValue))
        },
        "call_ringing": .on(CallClientFrame.self) { session, frame, _ in try await session.services.calls.ringing(try frame.call(), by: session.user) },
        "call_accept": .on(CallClientFrame.self, acknowledges: true) { session, frame, ref in
            let call = try await session.services.calls.accept(
                try frame.call(), sdp: frame.sdp ?? "", by: session.user, connection: session.connection.id
            )
            await session.reply(ServerFrame.Ack(ref: ref, callID: call.id.lowercasedString, callState: call.state.rawValue))
        },
        "call_reject": .on(CallClientFrame.self, acknowledges: true) { session, frame, ref in
            let call = try await session.services.calls.reject(try frame.call(), by: session.user)
            await session.reply(ServerFrame.Ack(ref: ref, callID: call.id.lowercasedString, callState: call.state.rawValue))
        },
        "call_hangup": .on(CallClientFrame.self, acknowledges: true) { session, frame, ref in
            let call = try await session.services.calls.hangUp(try frame.call(), by: session.user)
            await session.reply(ServerFrame.Ack(ref: ref, callID: call.id.lowercasedString, callState: call.state.rawValue))
        },
        "call_ice": .on(CallClientFrame.self) { session, frame, _ in
            try await session.services.calls.ice(try frame.call(), candidate: frame.candidate ?? "", by: session.user)
        },
        "call_media": .on(CallClientFrame.self) { session, frame, _ in
            try await session.services.calls.media(try frame.call(), muted: frame.muted, cameraOff: frame.cameraOff, by: session.user)
        },
        "call_ping": .on(CallClientFrame.self) { session, frame, _ in try await session.services.calls.ping(try frame.call(), by: session.user) },
    ]

    /// Handles one text frame. Bad frames get an `error` frame; the connection stays open.
    func handle(_ text: String) async {
        // Each frame counts against the same budget as a REST request, malformed ones included.
        let overBudget: (any Error)?
        do {
            try await services.premium.takeRequestBudget(of: user.userID)
            overBudget = nil
        } catch {
            overBudget = error
        }
        guard let (header, data, handler) = parse(text, overBudget: overBudget) else { return }
        do {
            if let overBudget { throw overBudget }
            try await handler.run(self, data, header.ref)
        } catch {
            answer(header, data, handler, failure: ErrorMapper.courierError(for: error, logger: logger))
        }
    }

    /// The frame's header, bytes and handler; nil (after answering with an error, the budget's
    /// first when it is spent) when it has none.
    private func parse(_ text: String, overBudget: (any Error)?) -> (ClientFrame.Header, Data, Handler)? {
        let data = Data(text.utf8)
        let header: ClientFrame.Header
        do {
            header = try JSONDecoder().decode(ClientFrame.Header.self, from: data)
        } catch {
            refuse(ref: nil, overBudget: overBudget, code: "invalid_frame", message: "A frame must be a JSON object with a string 'type'.")
            return nil
        }
        guard let handler = Self.handlers[header.type] else {
            refuse(ref: header.ref, overBudget: overBudget, code: "invalid_frame", message: "Unknown frame type '\(header.type)'.")
            return nil
        }
        return (header, data, handler)
    }

    private func refuse(ref: String?, overBudget: (any Error)?, code: String, message: String) {
        if let overBudget {
            let failure = ErrorMapper.courierError(for: overBudget, logger: logger)
            reply(ServerFrame.Error(ref: ref, error: .init(code: failure.code, message: failure.message)))
        } else {
            reply(ServerFrame.Error(ref: ref, error: .init(code: code, message: message)))
        }
    }

    private func answer(_ header: ClientFrame.Header, _ data: Data, _ handler: Handler, failure: CourierError) {
        let body = ServerFrame.ErrorBody(code: failure.code, message: failure.message)
        if handler.acknowledges {
            var ack = ServerFrame.Ack(ref: header.ref)
            ack.clientMessageID = (try? JSONDecoder().decode(ClientMessageID.self, from: data))?.clientMessageID
            ack.error = body
            reply(ack)
        } else {
            reply(ServerFrame.Error(ref: header.ref, error: body))
        }
    }

    // MARK: Handlers

    private func sendMessage(_ request: SendMessageRequest, ref: String?) async throws {
        let sent = try await services.messages.send(try request.draft(), from: user.userID, connection: connection.id)
        var ack = ServerFrame.Ack(ref: ref)
        ack.clientMessageID = sent.message.clientMessageID
        ack.id = sent.message.id.lowercasedString
        ack.seq = sent.message.seq
        ack.chatID = sent.message.chatID.lowercasedString
        ack.message = MessageResponse(sent.message)
        ack.pts = sent.pts
        reply(ack)
    }

    private func edit(_ frame: ClientFrame.Edit, ref: String?) async throws {
        let edited = try await services.messages.edit(
            try .parse(frame.messageID, field: "message_id"), content: frame.content, by: user.userID, connection: connection.id
        )
        var ack = ServerFrame.Ack(ref: ref)
        ack.id = edited.message.id.lowercasedString
        ack.chatID = edited.message.chatID.lowercasedString
        ack.message = MessageResponse(edited.message)
        ack.pts = edited.pts
        reply(ack)
    }

    private func delete(_ frame: ClientFrame.Delete, ref: String?) async throws {
        let scope = try MessageService.DeleteScope.parse(frame.scope)
        let id = try UUID.parse(frame.messageID, field: "message_id")
        let written = try await services.messages.delete(id, for: scope, by: user.userID, connection: connection.id)
        var ack = ServerFrame.Ack(ref: ref)
        ack.id = id.lowercasedString
        if let written {
            if written.account { ack.accountPTS = written.pts } else { ack.pts = written.pts }
        }
        reply(ack)
    }

    private func read(_ frame: ClientFrame.Read, ref: String?) async throws {
        let chatID = try UUID.parse(frame.chatID, field: "chat_id")
        let state = try await services.chats.markRead(chatID, upTo: frame.seq, by: user.userID, connection: connection.id)
        var ack = ServerFrame.Ack(ref: ref)
        ack.chatID = chatID.lowercasedString
        ack.lastReadSeq = state.lastReadSeq
        ack.pts = state.updates.chat.last?.pts
        ack.accountPTS = state.updates.account.last?.pts
        reply(ack)
    }

    private func typing(_ frame: ClientFrame.Typing) async throws {
        let chatID = try UUID.parse(frame.chatID, field: "chat_id")
        // Ephemeral and rate-limited: extra typing frames within the interval are dropped.
        let now = ContinuousClock.now
        if let last = lastTyping[chatID], now - last < typingInterval { return }
        lastTyping[chatID] = now
        try await services.chats.typing(in: chatID, by: user.userID)
    }

    private func subscribePresence(_ frame: ClientFrame.SubscribePresence) async throws {
        let ids = try frame.userIDs.prefix(ChatPolicy.maxMembersPerRequest).map { try UUID.parse($0, field: "user_ids") }
        for status in try await presence.status(of: ids, for: user.userID) {
            reply(ServerFrame.Presence(userID: status.userID.lowercasedString, online: status.online, lastSeen: status.lastSeen))
        }
    }

    /// Sends one page of every update after the device's positions, in order, then `resumed` with
    /// the positions reached; live traffic is held back meanwhile, and what the page already sent
    /// is not sent again live. With `more` the client asks again from there.
    ///
    /// The page is bounded (`limit`, at most `SyncService.maxLimit`, well under the connection's
    /// queue), and the work stops early when the connection closed or stopped reading.
    private func resume(_ frame: ClientFrame.Resume, ref: String?) async throws {
        guard (frame.chats?.count ?? 0) <= SyncService.maxChats else {
            throw CourierError.invalid("chats", "Resume at most \(SyncService.maxChats) chats at once.")
        }
        var positions: [UUID: Int64] = [:]
        for (raw, pts) in frame.chats ?? [:] { positions[try UUID.parse(raw, field: "chats")] = pts }
        connection.beginResume()
        var sentUpTo: [UUID: Int64] = [:]
        // Live traffic flows again whatever happens, after `resumed` when all went well.
        defer { connection.releaseLiveFrames(resumedUpTo: sentUpTo) }
        let connection = self.connection
        let difference = try await services.sync.difference(
            for: user.userID, after: SyncService.Positions(account: frame.accountPTS, chats: positions), limit: frame.limit,
            shouldGoOn: { connection.closeReason == nil }
        )
        // Sent whether or not the same update went out live before: a device that saw a gap
        // dropped what followed it, and applies each position once anyway.
        for update in difference.updates {
            connection.send(update.text, position: update.position(of: user.userID))
        }
        sentUpTo = difference.chats
        sentUpTo[user.userID] = difference.accountPTS
        for chatID in difference.invalidPosition {
            reply(ServerFrame.Error(ref: ref, error: .init(
                code: "invalid_position", message: "The position held for chat \(chatID.lowercasedString) was never issued; reload the chat."
            )))
        }
        reply(ServerFrame.Resumed(ref: ref, difference: DifferenceResponse(difference: difference)))
    }

    func reply(_ frame: some Encodable) {
        connection.send(ServerFrame.text(frame))
    }

    private struct ClientMessageID: Decodable {
        let clientMessageID: String?
        enum CodingKeys: String, CodingKey { case clientMessageID = "client_msg_id" }
    }
}

import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// One-to-one calls in DMs: every rule of their signalling, for the WebSocket frames and the REST
/// routes alike.
///
/// The server relays session descriptions and ICE candidates; media flow between the two browsers,
/// directly or through the TURN server. Every device of the callee rings; the first to answer wins
/// (one conditional update) and the others stop; once answered, the call's frames go to the two
/// device sessions in it only. A call rings 30 s at most and ends as lost when a side stays silent
/// for a minute. Its end leaves a line in the DM's history, which the Telegram relay announces like
/// any message (as a reference only).
public struct CallService: Sendable {
    let calls: CallStore
    let chats: ChatService
    let messages: MessageService
    let events: EventPublisher
    let turn: TURNSettings
    let logger: Logger
    /// Counts the TURN credentials issued.
    var metrics: ServerMetrics?

    // MARK: Placing and answering

    /// Calls the other member of DM `chatID`. A callee in another call makes it end at once as
    /// `busy` (the caller gets `call_ended`); a caller in another call is refused (409).
    public func invite(chatID: UUID, video: Bool, sdp: String, by user: AuthenticatedUser) async throws -> Call {
        try Self.check(sdp: sdp)
        let access = try await chats.memberAccess(chatID, for: user.userID)
        guard access.chat.kind == .dm else {
            throw CourierError(.unprocessable, code: "calls_are_one_to_one", message: "Calls are between two people: call from a DM.", field: "chat_id")
        }
        guard let calleeID = try await chats.chats.memberIDs(of: chatID).first(where: { $0 != user.userID }) else {
            throw CourierError(.unprocessable, code: "calls_are_one_to_one", message: "This DM has nobody to call.", field: "chat_id")
        }
        let offer = try await calls.relaysAllCalls(user.userID) ? RelayOnlySignalling.filter(sdp: sdp) : sdp
        let placement: CallStore.Placement
        do {
            placement = try await calls.place(
                chatID: chatID, callerID: user.userID, calleeID: calleeID, callerSession: user.sessionID, video: video, offer: offer, at: .now()
            )
        } catch CallStore.PlacementRefusal.callerInCall {
            throw CourierError(.conflict, code: "already_in_call", message: "You are in a call already; hang it up first.")
        }
        switch placement {
        case .ringing(let call):
            var incoming = CallEventFrame("call_incoming", call)
            incoming.chatID = chatID.lowercasedString
            incoming.callerID = user.userID.lowercasedString
            incoming.calleeID = calleeID.lowercasedString
            incoming.video = video
            incoming.sdp = offer
            incoming.createdAt = call.createdAt
            await events.send(Delivery(recipients: [calleeID], frame: incoming.text))
            return call
        case .busy(let call):
            await finished(call)
            return call
        }
    }

    /// A device of the callee tells the caller it is ringing.
    public func ringing(_ callID: UUID, by user: AuthenticatedUser) async throws {
        let call = try await call(callID, for: user.userID)
        guard call.calleeID == user.userID, call.state == .ringing else { return }
        await events.send(Delivery(recipients: [call.callerID], frame: CallEventFrame("call_ringing", call).text, sessions: .only([call.callerSession])))
    }

    /// Answers a ringing call from this device (`connection`: the socket it answered on); 409
    /// `call_not_ringing` when another device was first or the call is over. Every other socket of
    /// the callee stops ringing, other tabs of the answering browser (same session) included.
    public func accept(_ callID: UUID, sdp: String, by user: AuthenticatedUser, connection: UUID? = nil) async throws -> Call {
        try Self.check(sdp: sdp)
        let found = try await call(callID, for: user.userID)
        guard found.calleeID == user.userID else { throw Self.notCallee }
        guard let call = try await calls.accept(callID, session: user.sessionID, at: .now()) else { throw Self.notRinging }
        var accepted = CallEventFrame("call_accepted", call)
        accepted.sdp = try await calls.relaysAllCalls(user.userID) ? RelayOnlySignalling.filter(sdp: sdp) : sdp
        await events.send(Delivery(recipients: [call.callerID], frame: accepted.text, sessions: .only([call.callerSession])))
        var elsewhere = CallEventFrame("call_accepted", call)
        elsewhere.answeredElsewhere = true
        await events.send(Delivery(
            recipients: [call.calleeID], frame: elsewhere.text, excludedConnection: connection,
            sessions: connection == nil ? .allBut([user.sessionID]) : nil
        ))
        return call
    }

    /// The callee declines a ringing call (on every device).
    public func reject(_ callID: UUID, by user: AuthenticatedUser) async throws -> Call {
        let found = try await call(callID, for: user.userID)
        guard found.calleeID == user.userID else { throw Self.notCallee }
        guard let call = try await calls.end(callID, outcome: .declined, from: [.ringing], at: .now()) else { throw Self.notRinging }
        await finished(call)
        return call
    }

    /// Either side ends the call: a ringing call is cancelled by its caller or declined by its
    /// callee, an answered one is completed. 409 `call_over` when it had ended already.
    public func hangUp(_ callID: UUID, by user: AuthenticatedUser) async throws -> Call {
        // The call may change under the hang-up (answered at that moment): then it is ended in the
        // state it reached, with that state's outcome.
        for _ in 0..<3 {
            let found = try await call(callID, for: user.userID)
            let outcome: CallOutcome
            switch found.state {
            case .ringing: outcome = user.userID == found.callerID ? .cancelled : .declined
            case .active: outcome = .completed
            case .ended: throw Self.over
            }
            if let call = try await calls.end(callID, outcome: outcome, from: [found.state], at: .now()) {
                await finished(call)
                return call
            }
        }
        throw Self.over
    }

    // MARK: During the call

    /// Passes an ICE candidate to the other side: while ringing, the caller's to every device of
    /// the callee; once answered, between the two devices in the call only. A candidate of someone
    /// who relays all calls goes only if it is a relay one (their address stays theirs).
    public func ice(_ callID: UUID, candidate: String, by user: AuthenticatedUser) async throws {
        guard !candidate.isEmpty, candidate.utf8.count <= CallLimits.maxCandidateBytes else {
            throw CourierError.invalid("candidate", "candidate must be 1 to \(CallLimits.maxCandidateBytes) bytes.")
        }
        let call = try await call(callID, for: user.userID)
        let target = try peerDevices(of: call, for: user)
        let sent = try await calls.relaysAllCalls(user.userID) ? RelayOnlySignalling.filter(candidate: candidate) : candidate
        guard let sent else { return }
        var frame = CallEventFrame("call_ice", call)
        frame.candidate = sent
        await events.send(Delivery(recipients: [call.peer(of: user.userID)], frame: frame.text, sessions: target))
    }

    /// Tells the other side that this one muted its microphone or turned its camera off (or on).
    public func media(_ callID: UUID, muted: Bool?, cameraOff: Bool?, by user: AuthenticatedUser) async throws {
        let call = try await call(callID, for: user.userID)
        guard call.state == .active else { throw Self.notActive }
        let target = try peerDevices(of: call, for: user)
        var frame = CallEventFrame("call_media", call)
        frame.userID = user.userID.lowercasedString
        frame.muted = muted
        frame.cameraOff = cameraOff
        await events.send(Delivery(recipients: [call.peer(of: user.userID)], frame: frame.text, sessions: target))
    }

    /// A side of the call is still there (clients send it every 15 s; a side silent for a minute
    /// ends the call as lost).
    public func ping(_ callID: UUID, by user: AuthenticatedUser) async throws {
        let call = try await call(callID, for: user.userID)
        guard call.state != .ended else { throw Self.over }
        // Only the devices in the call keep it alive (another tab or device of the same person must
        // not keep a call up whose device crashed).
        if call.state == .active { _ = try peerDevices(of: call, for: user) }
        if call.state == .ringing, user.userID == call.callerID, user.sessionID != call.callerSession { throw Self.notInCall }
        try await calls.seen(callID, userID: user.userID, at: .now())
    }

    /// The call this person is in, if any, with the caller's session description while it rings
    /// and they are its callee (a device opened during the ringing can still answer).
    public func current(for userID: UUID) async throws -> (call: Call, offer: String?)? {
        guard let call = try await calls.current(of: userID) else { return nil }
        let offer = call.state == .ringing && call.calleeID == userID ? try await calls.offer(of: call) : nil
        return (call, offer)
    }

    // MARK: Servers and settings

    /// Where this person's browser finds STUN and TURN servers: STUN URLs as configured, TURN URLs
    /// with a credential valid for the configured time (none without a shared secret).
    public struct ICEServers: Sendable {
        public let stun: [String]
        public let turn: [String]
        public let credentials: TURNCredentials?
        public let relayOnly: Bool
    }

    public func iceServers(for userID: UUID) async throws -> ICEServers {
        let credentials = turn.secret.map { TURNCredentials(userID: userID, secret: $0, now: .now(), ttl: turn.ttl) }
        if credentials != nil { metrics?.turnCredentials.increment() }
        return ICEServers(
            stun: turn.urls.filter { $0.hasPrefix("stun") }, turn: turn.urls.filter { $0.hasPrefix("turn") }, credentials: credentials,
            relayOnly: try await calls.relaysAllCalls(userID)
        )
    }

    /// "Relay all my calls": the other side never learns this person's address.
    public func relaysAllCalls(_ userID: UUID) async throws -> Bool { try await calls.relaysAllCalls(userID) }

    public func setRelaysAllCalls(_ userID: UUID, _ on: Bool) async throws { try await calls.setRelaysAllCalls(userID, on) }

    // MARK: Ends

    /// Ends the calls that rang too long or whose device went silent. Every node runs it; each call
    /// is ended (and announced) by one of them.
    func endOverdue(at time: Timestamp = .now()) async throws {
        for call in try await calls.endOverdue(at: time) {
            await finished(call)
        }
    }

    /// Tells both people's devices the call is over, and leaves its line in the DM's history,
    /// sent by the caller (the Telegram relay announces it to the callee like any message).
    private func finished(_ call: Call) async {
        var ended = CallEventFrame("call_ended", call)
        ended.outcome = call.outcome?.rawValue
        ended.durationSeconds = call.durationSeconds
        await events.send(Delivery(recipients: [call.callerID, call.calleeID], frame: ended.text))
        guard let outcome = call.outcome else { return }
        do {
            let draft = try MessageDraft.callRecord(
                chatID: call.chatID, summary: outcome.summary(video: call.video, durationSeconds: call.durationSeconds),
                details: [
                    "id": .string(call.id.lowercasedString), "video": .bool(call.video), "outcome": .string(outcome.rawValue),
                    "duration_seconds": .number(Double(call.durationSeconds)), "caller_id": .string(call.callerID.lowercasedString),
                ]
            )
            _ = try await messages.send(draft, from: call.callerID)
        } catch {
            logger.warning("the call's line was not stored", metadata: ["call_id": "\(call.id)", "error": "\(error)"])
        }
    }

    // MARK: Rules

    /// The call, for one of its two people; anyone else is told it does not exist.
    private func call(_ id: UUID, for userID: UUID) async throws -> Call {
        guard let call = try await calls.find(id), call.isParticipant(userID) else { throw CourierError.notFound("call") }
        return call
    }

    /// The other side's devices for a frame of `user`'s: while ringing, every device of the callee
    /// (for the caller's device only); once answered, the other device in the call (for the two
    /// devices in it only).
    private func peerDevices(of call: Call, for user: AuthenticatedUser) throws -> SessionFilter? {
        switch call.state {
        case .ringing:
            guard user.userID == call.callerID, user.sessionID == call.callerSession else { throw Self.notActive }
            return nil
        case .active:
            guard let calleeSession = call.calleeSession, [call.callerSession, calleeSession].contains(user.sessionID) else {
                throw Self.notInCall
            }
            return .only([user.sessionID == call.callerSession ? calleeSession : call.callerSession])
        case .ended:
            throw Self.over
        }
    }

    static func check(sdp: String) throws {
        guard !sdp.isEmpty, sdp.utf8.count <= CallLimits.maxSDPBytes else {
            throw CourierError.invalid("sdp", "sdp must be a session description of 1 to \(CallLimits.maxSDPBytes) bytes.")
        }
    }

    static let notCallee = CourierError(.forbidden, code: "not_callee", message: "Only the person called can answer or decline.")
    static let notRinging = CourierError(.conflict, code: "call_not_ringing", message: "This call was answered on another device, or is over.")
    static let notActive = CourierError(.conflict, code: "call_not_active", message: "This call is not in progress.")
    static let notInCall = CourierError(.conflict, code: "not_in_call", message: "Another of your devices is in this call.")
    static let over = CourierError(.conflict, code: "call_over", message: "This call is over.")
}

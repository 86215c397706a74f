import CourierCore
import Foundation
import SQLKit

/// Calls and the "relay all my calls" setting. Every change of a call's state is one conditional
/// statement, so two devices (or two nodes) acting on one call at once cannot both win.
public struct CallStore: Sendable {
    let engine: any DatabaseEngine
    let keyring: Keyring

    public init(engine: any DatabaseEngine, keyring: Keyring) {
        self.engine = engine
        self.keyring = keyring
    }

    private static let columns = """
        id, chat_id, caller_id, callee_id, caller_session, callee_session, video, state, outcome, created_at, accepted_at, ended_at
        """

    /// Whether a new call can ring or finds its callee busy.
    public enum Placement: Sendable, Equatable {
        case ringing(Call)
        /// The callee is in another call: the call is stored as ended (`busy`).
        case busy(Call)
    }

    public enum PlacementRefusal: Error, Sendable, Equatable {
        /// The caller is in another call already.
        case callerInCall
    }

    /// Places a call. The two people's rows are locked first (in a fixed order), so two calls
    /// placed at once cannot both find someone free.
    public func place(
        chatID: UUID, callerID: UUID, calleeID: UUID, callerSession: UUID, video: Bool, offer: String, at time: Timestamp
    ) async throws -> Placement {
        let id = UUID.random()
        let sealedOffer = try await keyring.seal(offer, offerContext(id, chatID))
        return try await engine.write { sql in
            for userID in [callerID, calleeID].sorted(by: { $0.uuidString < $1.uuidString }) {
                try await sql.raw("UPDATE users SET updated_at = updated_at WHERE id = \(bind: userID)").run()
            }
            let busy = try await sql.raw("""
                SELECT caller_id, callee_id FROM calls WHERE state <> 'ended'
                AND (caller_id IN (\(bind: callerID), \(bind: calleeID)) OR callee_id IN (\(bind: callerID), \(bind: calleeID)))
                """).all()
            let inCall = try Set(busy.flatMap { [try $0.decode(column: "caller_id", as: UUID.self), try $0.decode(column: "callee_id", as: UUID.self)] })
            if inCall.contains(callerID) { throw PlacementRefusal.callerInCall }
            let calleeBusy = inCall.contains(calleeID)
            var call = Call(
                id: id, chatID: chatID, callerID: callerID, calleeID: calleeID, callerSession: callerSession, video: video,
                state: calleeBusy ? .ended : .ringing, outcome: calleeBusy ? .busy : nil, createdAt: time
            )
            if calleeBusy { call.endedAt = time }
            try await sql.raw("""
                INSERT INTO calls (id, chat_id, caller_id, callee_id, caller_session, video, state, outcome, offer, created_at, ended_at, caller_seen_at)
                VALUES (\(bind: id), \(bind: chatID), \(bind: callerID), \(bind: calleeID), \(bind: callerSession), \(bind: video ? 1 : 0),
                        \(bind: call.state.rawValue), \(bind: call.outcome?.rawValue), \(bind: calleeBusy ? nil : sealedOffer),
                        \(bind: time.milliseconds), \(bind: call.endedAt?.milliseconds), \(bind: time.milliseconds))
                """).run()
            return calleeBusy ? .busy(call) : .ringing(call)
        }
    }

    public func find(_ id: UUID) async throws -> Call? {
        try await engine.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: Self.columns) FROM calls WHERE id = \(bind: id)").first().map(Self.call(from:))
        }
    }

    /// The call `userID` is in (ringing or answered), if any.
    public func current(of userID: UUID) async throws -> Call? {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM calls
                WHERE state <> 'ended' AND (caller_id = \(bind: userID) OR callee_id = \(bind: userID))
                ORDER BY created_at DESC LIMIT 1
                """).first().map(Self.call(from:))
        }
    }

    /// The caller's session description, while the call rings.
    public func offer(of call: Call) async throws -> String? {
        let sealed = try await engine.read { sql in
            try await sql.raw("SELECT offer FROM calls WHERE id = \(bind: call.id) AND state = 'ringing'").first()?
                .decode(column: "offer", as: String?.self)
        }
        return try await keyring.open(sealed ?? nil, offerContext(call.id, call.chatID))
    }

    /// Answers a ringing call from `session`; nil when it no longer rings (answered elsewhere,
    /// declined, cancelled, missed).
    public func accept(_ id: UUID, session: UUID, at time: Timestamp) async throws -> Call? {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE calls SET state = 'active', callee_session = \(bind: session), accepted_at = \(bind: time.milliseconds),
                    callee_seen_at = \(bind: time.milliseconds), caller_seen_at = \(bind: time.milliseconds), offer = NULL
                WHERE id = \(bind: id) AND state = 'ringing'
                RETURNING \(unsafeRaw: Self.columns)
                """).first().map(Self.call(from:))
        }
    }

    /// Ends a call that is not over yet with `outcome`; nil when it was over already. `from`
    /// limits it to calls in those states (a decline only ends a ringing call).
    public func end(_ id: UUID, outcome: CallOutcome, from states: Set<CallState> = [.ringing, .active], at time: Timestamp) async throws -> Call? {
        let allowed = states.map(\.rawValue).sorted()
        return try await engine.write { sql in
            try await sql.raw("""
                UPDATE calls SET state = 'ended', outcome = \(bind: outcome.rawValue), ended_at = \(bind: time.milliseconds), offer = NULL
                WHERE id = \(bind: id) AND state IN (\(anyOf: allowed))
                RETURNING \(unsafeRaw: Self.columns)
                """).first().map(Self.call(from:))
        }
    }

    /// Notes that a side of the call signalled now.
    public func seen(_ id: UUID, userID: UUID, at time: Timestamp) async throws {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE calls SET
                    caller_seen_at = CASE WHEN caller_id = \(bind: userID) THEN \(bind: time.milliseconds) ELSE caller_seen_at END,
                    callee_seen_at = CASE WHEN callee_id = \(bind: userID) THEN \(bind: time.milliseconds) ELSE callee_seen_at END
                WHERE id = \(bind: id) AND state <> 'ended'
                """).run()
        }
    }

    /// Ends the calls that rang too long (`missed`) and the answered calls one side of which went
    /// silent (`lost`). Each is returned to one caller only: the node that ended it announces it.
    public func endOverdue(at time: Timestamp) async throws -> [Call] {
        let rangSince = time.milliseconds - CallLimits.ringingSeconds * 1000
        let silentSince = time.milliseconds - CallLimits.silenceSeconds * 1000
        return try await engine.write { sql in
            let missed = try await sql.raw("""
                UPDATE calls SET state = 'ended', outcome = 'missed', ended_at = \(bind: time.milliseconds), offer = NULL
                WHERE state = 'ringing' AND created_at <= \(bind: rangSince)
                RETURNING \(unsafeRaw: Self.columns)
                """).all().map(Self.call(from:))
            let lost = try await sql.raw("""
                UPDATE calls SET state = 'ended', outcome = 'lost',
                    ended_at = CASE WHEN caller_seen_at < callee_seen_at THEN caller_seen_at ELSE callee_seen_at END
                WHERE state = 'active' AND (caller_seen_at <= \(bind: silentSince) OR callee_seen_at <= \(bind: silentSince))
                RETURNING \(unsafeRaw: Self.columns)
                """).all().map(Self.call(from:))
            return missed + lost
        }
    }

    // MARK: The "relay all my calls" setting

    public func relaysAllCalls(_ userID: UUID) async throws -> Bool {
        try await engine.read { sql in
            try await sql.raw("SELECT calls_relay_only FROM users WHERE id = \(bind: userID)").first()?
                .decode(column: "calls_relay_only", as: Int64.self) == 1
        }
    }

    public func setRelaysAllCalls(_ userID: UUID, _ on: Bool) async throws {
        try await engine.write { sql in
            try await sql.raw("UPDATE users SET calls_relay_only = \(bind: on ? 1 : 0) WHERE id = \(bind: userID)").run()
        }
    }

    private func offerContext(_ id: UUID, _ chatID: UUID) -> Keyring.FieldContext {
        Keyring.FieldContext(table: "calls", rowID: id, scope: .chat(chatID), field: "offer")
    }

    static func call(from row: any SQLRow) throws -> Call {
        Call(
            id: try row.decode(column: "id", as: UUID.self), chatID: try row.decode(column: "chat_id", as: UUID.self),
            callerID: try row.decode(column: "caller_id", as: UUID.self), calleeID: try row.decode(column: "callee_id", as: UUID.self),
            callerSession: try row.decode(column: "caller_session", as: UUID.self),
            calleeSession: try row.decode(column: "callee_session", as: UUID?.self),
            video: try row.decode(column: "video", as: Int64.self) == 1, state: try row.decodeEnum(column: "state", as: CallState.self),
            outcome: try row.decode(column: "outcome", as: String?.self).flatMap(CallOutcome.init(rawValue:)),
            createdAt: try row.decodeTimestamp(column: "created_at"),
            acceptedAt: try row.decode(column: "accepted_at", as: Int64?.self).map(Timestamp.init(milliseconds:)),
            endedAt: try row.decode(column: "ended_at", as: Int64?.self).map(Timestamp.init(milliseconds:))
        )
    }
}

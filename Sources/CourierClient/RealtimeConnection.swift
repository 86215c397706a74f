import Foundation
import Synchronization
import HummingbirdWSClient
import Logging
import NIOWebSocket

/// A device's live connection to Courier: connects the WebSocket, reconnects by itself when the
/// connection drops, and applies the update log: it holds its position in its own log and in each
/// chat, takes every update exactly once and in order, and catches up (`resume`, page after page)
/// after a reconnect or the moment a live update shows a gap, so it misses nothing.
///
/// Messages sent while disconnected wait and go out after the reconnect; their `client_msg_id`
/// makes the retry safe.
public actor RealtimeConnection {
    /// What happens on the connection.
    public enum Event: Sendable {
        case connected
        case disconnected(closeCode: UInt16?)
        case frame(ServerEvent)
        /// The server closed the socket because the device's session was signed out (close code
        /// 4001): the connection stops reconnecting; sign in again.
        case signedOut
    }

    /// Close code of a socket whose session was signed out.
    public static let sessionRevokedCloseCode: UInt16 = 4001

    /// A frame from the server, with the fields clients usually need already decoded.
    public struct ServerEvent: Decodable, Sendable {
        public let type: String
        public let ref: String?
        public let message: ChatMessage?
        public let chats: [String: Int64]?
        public let error: Failure?
        public let userID: String?
        public let chatID: String?
        public let online: Bool?
        public let lastReadSeq: Int64?
        /// The update's position in its chat's log (on `chat_joined`: where to catch up from).
        public let pts: Int64?
        /// The update's position in the person's own log.
        public let accountPTS: Int64?
        public let messageID: String?
        public let seq: Int64?
        public let role: String?
        /// `resumed`: more updates wait; chats to reload; chats left.
        public let more: Bool?
        public let tooLong: [String]?
        public let invalidPosition: [String]?
        public let left: [String]?
        /// Call frames (`call_*` and their acks): the call, its state, and what the frame carries.
        public let callID: String?
        public let callState: String?
        public let sdp: String?
        public let candidate: String?
        public let outcome: String?
        public let answeredElsewhere: Bool?
        public let durationSeconds: Int64?
        public let muted: Bool?
        public let cameraOff: Bool?
        public let video: Bool?
        /// `reaction_changed`: the new emoji (nil: taken back) and the message's reactions now.
        public let emoji: String?
        public let reactions: [Reaction]?

        public struct Reaction: Decodable, Sendable, Equatable {
            public let emoji: String
            public let count: Int
            public let userIDs: [String]

            enum CodingKeys: String, CodingKey {
                case emoji, count
                case userIDs = "user_ids"
            }
        }

        public struct Failure: Decodable, Sendable {
            public let code: String
            public let message: String
        }

        enum CodingKeys: String, CodingKey {
            case type, ref, message, chats, error, online, pts, seq, role, more, left, sdp, candidate, outcome, muted, video, emoji, reactions
            case callID = "call_id"
            case callState = "call_state"
            case answeredElsewhere = "answered_elsewhere"
            case durationSeconds = "duration_seconds"
            case cameraOff = "camera_off"
            case userID = "user_id"
            case chatID = "chat_id"
            case lastReadSeq = "last_read_seq"
            case accountPTS = "account_pts"
            case messageID = "message_id"
            case tooLong = "too_long"
            case invalidPosition = "invalid_position"
        }
    }

    /// Where a device stands in the update log.
    public struct Positions: Sendable, Equatable {
        /// In the person's own log; nil before the first catch-up.
        public var account: Int64?
        /// Per chat id.
        public var chats: [String: Int64]

        public init(account: Int64? = nil, chats: [String: Int64] = [:]) {
            self.account = account
            self.chats = chats
        }
    }

    public nonisolated let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    private let url: @Sendable () async throws -> String
    private let logger: Logger
    private var outbound: WebSocketOutboundWriter?
    private var positions: Positions
    /// Whether a catch-up is under way (its `resumed` not yet received), and whether a gap showed
    /// meanwhile (the page under way may have been read before it: ask again after it).
    private var catchingUp = false
    private var gapWhileCatchingUp = false
    private static let catchUpRef = "catch-up"
    private var pending: [String: (frame: String, continuation: CheckedContinuation<ServerEvent, any Error>)] = [:]
    private var loop: Task<Void, Never>?
    private var stopped = false

    /// - Parameters:
    ///   - token: returns a valid access token (refreshing it if needed); asked before each connect.
    ///   - positions: where the device stands in the update log (kept from an earlier connection).
    public init(
        client: CourierClient, token: @escaping @Sendable () async throws -> String, positions: Positions = Positions(),
        logger: Logger = Logger(label: "courier-client")
    ) {
        self.url = { client.webSocketURL(token: try await token(), resume: true) }
        self.logger = logger
        self.positions = positions
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
    }

    /// Starts connecting (and reconnecting) until `stop`.
    public func start() {
        guard loop == nil else { return }
        loop = Task { await self.run() }
    }

    /// Closes the connection for good.
    public func stop() async {
        stopped = true
        try? await outbound?.close(.normalClosure, reason: nil)
        loop?.cancel()
        await loop?.value
        for (_, waiting) in pending { waiting.continuation.resume(throwing: CancellationError()) }
        pending = [:]
        eventSink.finish()
    }

    /// Closes the current socket as a network failure would; the connection comes back by itself.
    public func dropConnection() async {
        try? await outbound?.close(.goingAway, reason: "dropped")
    }

    /// Where the device stands in the update log.
    public var knownPositions: Positions { positions }

    /// Sends a text message and returns the server's ack (which carries the message or an error).
    public func send(_ content: String, to chatID: String, clientMessageID: String = UUID().uuidString) async throws -> ServerEvent {
        try await request(["type": "message", "chat_id": chatID, "content": content, "message_type": "text", "client_msg_id": clientMessageID])
    }

    /// Changes the text of one's message; returns the ack.
    public func edit(_ messageID: String, content: String) async throws -> ServerEvent {
        try await request(["type": "edit", "message_id": messageID, "content": content])
    }

    /// Deletes a message for everyone (or only for this user); returns the ack.
    public func delete(_ messageID: String, forEveryone: Bool = true) async throws -> ServerEvent {
        try await request(["type": "delete", "message_id": messageID, "for": forEveryone ? "everyone" : "me"])
    }

    /// Moves the read mark; returns the ack with `last_read_seq`.
    public func markRead(_ chatID: String, upTo seq: Int64) async throws -> ServerEvent {
        try await request(["type": "read", "chat_id": .string(chatID), "seq": .integer(seq)])
    }

    /// Tells the chat's other members this user is typing.
    public func typing(in chatID: String) async {
        await post(["type": "typing", "chat_id": .string(chatID)])
    }

    /// Asks for the presence of these users (the answers arrive as `presence` frames).
    public func subscribePresence(_ userIDs: [String]) async {
        await post(["type": "subscribe_presence", "user_ids": .strings(userIDs)])
    }

    /// A value in a client frame.
    public enum FrameValue: Encodable, Sendable, ExpressibleByStringLiteral {
        case string(String)
        case integer(Int64)
        case strings([String])
        case bool(Bool)

        public init(stringLiteral value: String) { self = .string(value) }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .strings(let value): try container.encode(value)
            case .bool(let value): try container.encode(value)
            }
        }
    }

    /// Sends any client frame of string fields with a fresh `ref` and waits for the reply carrying it.
    public func request(_ fields: [String: String]) async throws -> ServerEvent {
        try await request(fields.mapValues { FrameValue.string($0) })
    }

    /// Sends any client frame with a fresh `ref` and waits for the reply carrying it.
    public func request(_ fields: [String: FrameValue]) async throws -> ServerEvent {
        let ref = UUID().uuidString
        var object = fields
        object["ref"] = .string(ref)
        let frame = String(decoding: try JSONEncoder().encode(object), as: UTF8.self)
        return try await withCheckedThrowingContinuation { continuation in
            pending[ref] = (frame, continuation)
            if outbound != nil { Task { await self.write(frame) } }
        }
    }

    /// Sends a frame that needs no reply.
    public func post(_ fields: [String: FrameValue]) async {
        await write(String(decoding: (try? JSONEncoder().encode(fields)) ?? Data(), as: UTF8.self))
    }

    /// How long connecting and the WebSocket handshake may take before the attempt is given up.
    /// The WebSocket client waits for the server's answer without a limit, and a server that
    /// accepts but never answers (a proxy, a node being killed) would hold the device forever.
    static let handshakeTimeout = Duration.seconds(15)

    /// The attempt whose socket is the current one (an abandoned attempt must not take over).
    private var attempt = 0

    private func run() async {
        var delay = Duration.milliseconds(100)
        while !stopped, !Task.isCancelled {
            attempt += 1
            let closeCode = await connectOnce(attempt: attempt)
            if closeCode != nil { delay = .milliseconds(100) }
            outbound = nil
            eventSink.yield(.disconnected(closeCode: closeCode))
            if closeCode == Self.sessionRevokedCloseCode {
                // Reconnecting with this session's tokens would only be refused.
                stopped = true
                for (_, waiting) in pending { waiting.continuation.resume(throwing: CancellationError()) }
                pending = [:]
                eventSink.yield(.signedOut)
            }
            if stopped { break }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// One connection: connects, and returns when it ends (with the server's close code, if any),
    /// or when it has not got through the handshake in time.
    private func connectOnce(attempt: Int) async -> UInt16? {
        let target: String
        do { target = try await url() } catch { return nil }
        let logger = self.logger
        let connection = Task { () -> UInt16? in
            let close = try await WebSocketClient.connect(url: target, configuration: .init(maxFrameSize: 1 << 20), logger: logger) { inbound, outbound, _ in
                guard await self.attach(outbound, attempt: attempt) else { return }
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    if case .text(let text) = message { await self.receive(text) }
                }
            }
            return close.map { UInt16(webSocketErrorCode: $0.closeCode) }
        }
        let settled = OnceFlag()
        return await withCheckedContinuation { (continuation: CheckedContinuation<UInt16?, Never>) in
            Task {
                let code: UInt16?
                do { code = try await connection.value } catch {
                    logger.debug("connection failed", metadata: ["error": "\(error)"])
                    code = nil
                }
                if settled.claim() { continuation.resume(returning: code) }
            }
            Task {
                try? await Task.sleep(for: Self.handshakeTimeout)
                guard await self.attempt == attempt, await self.outbound == nil else { return }
                if settled.claim() {
                    logger.debug("handshake timed out")
                    connection.cancel()
                    continuation.resume(returning: nil)
                }
            }
        }
    }

    /// Makes `writer` the current socket, unless its attempt was given up meanwhile.
    private func attach(_ writer: WebSocketOutboundWriter, attempt: Int) async -> Bool {
        guard attempt == self.attempt else {
            try? await writer.close(.goingAway, reason: "given up")
            return false
        }
        outbound = writer
        eventSink.yield(.connected)
        // Catch up first, then retry whatever was waiting for an ack.
        catchingUp = false
        await catchUp()
        for (_, waiting) in pending { await write(waiting.frame) }
        return true
    }

    /// Asks for every update after the device's positions (one page; `resumed` says if more wait).
    private func catchUp() async {
        guard !catchingUp else {
            gapWhileCatchingUp = true
            return
        }
        catchingUp = true
        gapWhileCatchingUp = false
        var resume: [String: Any] = ["type": "resume", "chats": chatsToResume(), "ref": Self.catchUpRef]
        if let account = positions.account { resume["account_pts"] = account }
        if let data = try? JSONSerialization.data(withJSONObject: resume) {
            await write(String(decoding: data, as: UTF8.self))
        }
    }

    private func write(_ frame: String) async {
        do {
            try await outbound?.write(.text(frame))
        } catch {
            logger.debug("write failed", metadata: ["error": "\(error)"])
        }
    }

    private func receive(_ text: String) async {
        guard let event = try? JSONDecoder().decode(ServerEvent.self, from: Data(text.utf8)) else { return }
        switch event.type {
        case "resumed":
            catchingUp = false
            positions.account = event.accountPTS ?? positions.account
            for (chat, pts) in event.chats ?? [:] {
                positions.chats[chat] = pts
                gapped.remove(chat)
            }
            for chat in event.left ?? [] { positions.chats[chat] = nil }
            if event.more == true || gapWhileCatchingUp { await catchUp() }
        case "error" where event.ref == Self.catchUpRef:
            // The catch-up failed (the server was shutting down, say): ask again in a moment.
            catchingUp = false
            Task {
                try? await Task.sleep(for: .seconds(1))
                await self.catchUp()
            }
        case "ack":
            // An ack's position continues the device's own; anything else means updates were missed.
            if let chat = event.chatID ?? event.message?.chatID, let pts = event.pts, !advance(chat: chat, to: pts) { await catchUp() }
            if let pts = event.accountPTS, !advanceAccount(to: pts) { await catchUp() }
        default:
            if let accountPTS = event.accountPTS {
                guard advanceAccount(to: accountPTS) else {
                    if accountPTS > (positions.account ?? 0) { await catchUp() }
                    return
                }
                if event.type == "chat_joined", let chat = event.chatID, positions.chats[chat] == nil {
                    // Follow the chat from where the person joined it, and catch up on what it
                    // had since (when this came in a catch-up, nothing of the chat was asked for yet).
                    positions.chats[chat] = event.pts ?? 0
                    await catchUp()
                }
                if event.type == "chat_left", let chat = event.chatID { positions.chats[chat] = nil }
            } else if let chat = event.chatID, let pts = event.pts {
                // A chat update: exactly the next one is applied; an old one was seen; a later one
                // shows a gap, which catching up fills (this one included).
                guard advance(chat: chat, to: pts) else {
                    if pts > (positions.chats[chat] ?? 0) {
                        gapped.insert(chat)
                        await catchUp()
                    }
                    return
                }
            }
        }
        if let ref = event.ref, let waiting = pending.removeValue(forKey: ref) {
            waiting.continuation.resume(returning: event)
        }
        eventSink.yield(.frame(event))
    }

    /// A `resume` names at most this many chats (the server's limit).
    static let maxResumeChats = 500

    /// Chats where a gap showed, caught up first.
    private var gapped: Set<String> = []

    /// The chats a catch-up names: those with a gap first, then the busiest, up to the limit.
    private func chatsToResume() -> [String: Int64] {
        guard positions.chats.count > Self.maxResumeChats else { return positions.chats }
        let ordered = positions.chats.sorted { lhs, rhs in
            let (left, right) = (gapped.contains(lhs.key), gapped.contains(rhs.key))
            return left != right ? left : lhs.value > rhs.value
        }
        return Dictionary(uniqueKeysWithValues: ordered.prefix(Self.maxResumeChats).map { ($0.key, $0.value) })
    }

    /// Moves the chat's position to `pts` when it is the next one; false otherwise (seen, or a gap).
    private func advance(chat: String, to pts: Int64) -> Bool {
        guard let held = positions.chats[chat] else {
            // A chat this device did not follow yet (joined while this frame was on its way).
            positions.chats[chat] = pts
            return true
        }
        guard pts == held + 1 else { return false }
        positions.chats[chat] = pts
        return true
    }

    private func advanceAccount(to pts: Int64) -> Bool {
        guard let held = positions.account else {
            positions.account = pts
            return true
        }
        guard pts == held + 1 else { return false }
        positions.account = pts
        return true
    }
}

/// True for the first caller of `claim` only.
final class OnceFlag: Sendable {
    private let claimed = Mutex(false)

    func claim() -> Bool {
        claimed.withLock { done in
            defer { done = true }
            return !done
        }
    }
}

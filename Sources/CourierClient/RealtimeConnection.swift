import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket

/// A device's live connection to Courier: connects the WebSocket, reconnects by itself when the
/// connection drops, and resumes from the newest `seq` it has of each chat, so it misses nothing.
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

        public struct Failure: Decodable, Sendable {
            public let code: String
            public let message: String
        }

        enum CodingKeys: String, CodingKey {
            case type, ref, message, chats, error, online
            case userID = "user_id"
            case chatID = "chat_id"
            case lastReadSeq = "last_read_seq"
        }
    }

    public nonisolated let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    private let url: @Sendable () async throws -> String
    private let logger: Logger
    private var outbound: WebSocketOutboundWriter?
    private var lastSeq: [String: Int64] = [:]
    private var pending: [String: (frame: String, continuation: CheckedContinuation<ServerEvent, any Error>)] = [:]
    private var loop: Task<Void, Never>?
    private var stopped = false

    /// - Parameters:
    ///   - token: returns a valid access token (refreshing it if needed); asked before each connect.
    ///   - knownSeqs: the newest `seq` the device already has per chat, to resume from.
    public init(client: CourierClient, token: @escaping @Sendable () async throws -> String, knownSeqs: [String: Int64] = [:], logger: Logger = Logger(label: "courier-client")) {
        self.url = { client.webSocketURL(token: try await token(), resume: true) }
        self.logger = logger
        self.lastSeq = knownSeqs
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

    /// The newest `seq` received per chat.
    public var knownSeqs: [String: Int64] { lastSeq }

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

        public init(stringLiteral value: String) { self = .string(value) }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .strings(let value): try container.encode(value)
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

    private func run() async {
        var delay = Duration.milliseconds(100)
        while !stopped, !Task.isCancelled {
            var closeCode: UInt16?
            do {
                let close = try await WebSocketClient.connect(
                    url: try await url(), configuration: .init(maxFrameSize: 1 << 20), logger: logger
                ) { inbound, outbound, _ in
                    await self.attach(outbound)
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        if case .text(let text) = message { await self.receive(text) }
                    }
                }
                closeCode = close.map { UInt16(webSocketErrorCode: $0.closeCode) }
                delay = .milliseconds(100)
            } catch {
                logger.debug("connection failed", metadata: ["error": "\(error)"])
            }
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

    private func attach(_ writer: WebSocketOutboundWriter) async {
        outbound = writer
        eventSink.yield(.connected)
        // Catch up first, then retry whatever was waiting for an ack.
        let resume = ["type": "resume", "chats": lastSeq] as [String: Any]
        if let data = try? JSONSerialization.data(withJSONObject: resume) {
            await write(String(decoding: data, as: UTF8.self))
        }
        for (_, waiting) in pending { await write(waiting.frame) }
    }

    private func write(_ frame: String) async {
        do {
            try await outbound?.write(.text(frame))
        } catch {
            logger.debug("write failed", metadata: ["error": "\(error)"])
        }
    }

    private func receive(_ text: String) {
        guard let event = try? JSONDecoder().decode(ServerEvent.self, from: Data(text.utf8)) else { return }
        if let message = event.message, event.type == "new_message" || event.type == "ack" {
            lastSeq[message.chatID] = max(lastSeq[message.chatID] ?? 0, message.seq)
        }
        if event.type == "resumed", let chats = event.chats {
            lastSeq.merge(chats) { max($0, $1) }
        }
        if let ref = event.ref, let waiting = pending.removeValue(forKey: ref) {
            waiting.continuation.resume(returning: event)
        }
        eventSink.yield(.frame(event))
    }
}

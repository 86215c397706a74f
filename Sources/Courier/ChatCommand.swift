import ArgumentParser
import CourierClient
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `courier chat`: a conversation in the terminal, over the same REST and WebSocket API as any client.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat from a terminal: lines you type are sent, messages arrive as they are written.",
        discussion: "The password comes from COURIER_PASSWORD, or is asked for. Type /quit to leave."
    )

    @Option(help: "The server's address.")
    var server = "http://127.0.0.1:8080"

    @Option(help: "Your username.")
    var username: String

    @Option(help: "Create the account first, with this phone number (E.164).")
    var register: String?

    @Option(name: .customLong("with"), help: "Chat with this person (their username): the DM is created if needed.")
    var peer: String?

    @Option(help: "Chat in this chat (its id), a group or channel, instead of a DM.")
    var chat: String?

    func validate() throws {
        guard (peer == nil) != (chat == nil) else { throw ValidationError("Give exactly one of --with and --chat.") }
    }

    func run() async throws {
        let client = CourierClient(baseURL: server)
        let password = try Self.password()
        let session: SignedIn
        if let phone = register {
            session = try await client.register(username: username, phone: phone, password: password)
        } else {
            session = try await client.login(username: username, password: password)
        }
        let token = session.token
        let chatID: String
        if let peer {
            chatID = try await client.directChat(with: try await client.userID(username: peer, token: token), token: token)
        } else {
            chatID = chat!
        }

        // The chat's position first, then its history: whatever happens in between comes again as
        // an update, and messages already shown from the history are not shown again.
        let position = try await client.chat(chatID, token: token).pts
        let history = try await client.history(of: chatID, query: "limit=20", token: token)
        let names = NameCache(client: client, token: token)
        for message in history.messages.reversed() { await Self.show(message, names: names) }
        let newestShown = history.messages.first?.seq ?? 0

        var logger = Logger(label: "courier-chat")
        logger.logLevel = .critical
        let connection = RealtimeConnection(
            client: client, token: { token }, positions: .init(chats: [chatID: position]), logger: logger
        )
        await connection.start()
        let printer = Task {
            for await event in connection.events {
                switch event {
                case .frame(let frame) where frame.type == "new_message":
                    if let message = frame.message, message.chatID == chatID, message.seq > newestShown { await Self.show(message, names: names) }
                case .frame(let frame) where frame.type == "typing" && frame.chatID == chatID:
                    if let user = frame.userID { print("… \(await names.name(user)) is typing") }
                case .signedOut:
                    print("(this session was signed out; sign in again)")
                case .disconnected(let code) where code != RealtimeConnection.sessionRevokedCloseCode:
                    print("(connection lost, reconnecting)")
                default:
                    break
                }
            }
        }

        print("Chatting as \(session.user.username). Type a message and press Enter; /quit to leave.")
        for await line in Self.standardInputLines() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text == "/quit" { break }
            if text.isEmpty { continue }
            let ack = try await connection.send(text, to: chatID)
            if let error = ack.error {
                print("! \(error.message)")
            } else if let message = ack.message {
                await Self.show(message, names: names)
            }
        }
        await connection.stop()
        printer.cancel()
    }

    private static func show(_ message: ChatMessage, names: NameCache) async {
        var sender = "?"
        if let senderID = message.senderID { sender = await names.name(senderID) }
        let time = String(message.createdAt.dropFirst(11).prefix(5))
        print("[\(time)] \(sender): \(message.deletedAt == nil ? message.content : "(deleted)")")
    }

    private static func password() throws -> String {
        if let password = ProcessInfo.processInfo.environment["COURIER_PASSWORD"], !password.isEmpty { return password }
        guard let entered = getpass("Password: ") else { throw ValidationError("A password is needed.") }
        return String(cString: entered)
    }

    /// Lines typed on standard input, read on a thread of their own so that no task blocks.
    private static func standardInputLines() -> AsyncStream<String> {
        AsyncStream { continuation in
            let reader = Thread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
            reader.start()
        }
    }
}

/// Usernames of senders, looked up once each.
actor NameCache {
    let client: CourierClient
    let token: String
    private var names: [String: String] = [:]

    init(client: CourierClient, token: String) {
        self.client = client
        self.token = token
    }

    func name(_ userID: String) async -> String {
        if let known = names[userID] { return known }
        let name = (try? await client.username(of: userID, token: token)) ?? String(userID.prefix(8))
        names[userID] = name
        return name
    }
}

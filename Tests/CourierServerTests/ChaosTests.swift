import AsyncHTTPClient
import CourierClient
import CourierServer
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Chaos: people on several devices send, edit, delete, read and change membership while their
/// connections drop at random and the server is killed (SIGKILL) and restarted at random points.
/// At the end every device's copy of every chat must equal the server's history: nothing lost,
/// nothing applied twice, nothing stale.
///
/// `COURIER_CHAOS_TRIALS` sets the number of trials (default 12, about half a minute); each trial is a new
/// server with a new seed (`COURIER_CHAOS_SEED` replays one).
@Suite("Chaos", .serialized)
struct ChaosTests {
    @Test func devicesEndUpEqualToTheServerWhateverHappens() async throws {
        let environment = ProcessInfo.processInfo.environment
        let trials = Int(environment["COURIER_CHAOS_TRIALS"] ?? "") ?? 12
        let firstSeed = UInt64(environment["COURIER_CHAOS_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        var total = ChaosTally()
        for trial in 0..<trials {
            let seed = firstSeed + UInt64(trial)
            let tally = try await ChaosTrial(seed: seed).run()
            total.add(tally)
            #expect(tally.lost == 0 && tally.duplicated == 0 && tally.stale == 0, "trial seed \(seed): \(tally)")
            if (trial + 1) % 50 == 0, trial + 1 < trials {
                print("chaos: \(trial + 1) of \(trials) trials so far, \(total)")
                fflush(nil)
            }
        }
        print("chaos: \(trials) trials (seeds \(firstSeed)…\(firstSeed + UInt64(trials) - 1)), \(total)")
    }
}

/// What one or more trials found.
struct ChaosTally: CustomStringConvertible {
    var checked = 0
    var lost = 0
    var duplicated = 0
    var stale = 0
    var kills = 0
    var drops = 0
    var actions = 0

    mutating func add(_ other: ChaosTally) {
        checked += other.checked
        lost += other.lost
        duplicated += other.duplicated
        stale += other.stale
        kills += other.kills
        drops += other.drops
        actions += other.actions
    }

    var description: String {
        "\(actions) actions, \(kills) server kills, \(drops) dropped connections, \(checked) messages checked on devices: "
            + "\(lost) lost, \(duplicated) duplicated, \(stale) stale"
    }
}

/// One trial: a fresh server, three people with two devices each, a group that one of them keeps
/// leaving and rejoining, and a DM.
struct ChaosTrial {
    let seed: UInt64
    static let actions = 40

    func run() async throws -> ChaosTally {
        var random = SeededRandom(seed: seed)
        let server = try await ChaosServer.start()
        defer { server.stop() }
        var tally = ChaosTally()
        let client = CourierClient(baseURL: server.baseURL)
        var registered: [SignedIn] = []
        for name in ["alice", "bobby", "carol"] {
            let username = "\(name)_\(seed % 100_000)"
            registered.append(try await client.register(username: username, phone: APIClient.phone(for: username), password: "correct horse battery"))
        }
        let people = registered
        let group = try await client.createGroup(named: "Chaos", members: [people[1].user.id, people[2].user.id], token: people[0].token)
        let dm = try await client.directChat(with: people[1].user.id, token: people[0].token)
        var devices: [ChaosDevice] = []
        for person in people {
            for _ in 0..<2 { devices.append(try await ChaosDevice.start(client: client, person: person)) }
        }
        var carolIn = true
        var sent: [(id: String, sender: Int)] = []
        for step in 0..<Self.actions {
            tally.actions += 1
            let actor = random.next(below: 3)
            let person = people[actor]
            switch random.next(below: 10) {
            case 0, 1, 2, 3:
                let chat = actor == 2 || random.next(below: 2) == 0 ? group : dm
                if chat == group, actor == 2, !carolIn { continue }
                if let message = try await retrying({ try await client.send("m\(step)", to: chat, clientMessageID: "c\(seed)-\(step)", token: person.token) }) {
                    sent.append((message.id, actor))
                }
            case 4:
                if let mine = sent.filter({ $0.sender == actor }).randomElement(using: &random) {
                    _ = try await retrying { () -> Int? in
                        try await Live.call(client, .PATCH, "/api/v1/messages/\(mine.id)", json: ["content": "edited \(step)"], token: person.token).status
                    }
                }
            case 5:
                if let mine = sent.filter({ $0.sender == actor }).randomElement(using: &random) {
                    let scope = random.next(below: 2) == 0 ? "everyone" : "me"
                    _ = try await retrying { () -> Int? in
                        try await Live.call(client, .DELETE, "/api/v1/messages/\(mine.id)?for=\(scope)", token: person.token).status
                    }
                }
            case 6:
                let reader = people[random.next(below: 2)]
                _ = try await retrying { () -> Int? in
                    try await Live.call(client, .POST, "/api/v1/chats/\(dm)/read", json: ["seq": step], token: reader.token).status
                }
            case 7:
                // Carol leaves the group, or Alice adds her back.
                if carolIn {
                    _ = try await retrying { () -> Int? in
                        try await Live.call(client, .POST, "/api/v1/chats/\(group)/leave", token: people[2].token).status
                    }
                } else {
                    _ = try await retrying { () -> Int? in
                        try await Live.call(client, .POST, "/api/v1/chats/\(group)/members", json: ["user_ids": [people[2].user.id]], token: people[0].token).status
                    }
                }
                carolIn.toggle()
            case 8:
                let device = devices[random.next(below: devices.count)]
                await device.connection.dropConnection()
                tally.drops += 1
            default:
                if random.next(below: 3) == 0 {
                    try await server.killAndRestart()
                    tally.kills += 1
                }
            }
        }
        // Everyone settles: every device online and caught up, then compared with the server.
        for device in devices { try await device.settle(client: client) }
        for device in devices {
            let found = try await device.compare(with: client)
            tally.checked += found.checked
            tally.lost += found.lost
            tally.stale += found.stale
            tally.duplicated += await device.model.duplicates
        }
        for device in devices { await device.stop() }
        return tally
    }

    /// Runs `call` until the server answers (it may be down for a restart), for up to 30 s.
    private func retrying<T: Sendable>(_ call: @Sendable () async throws -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await call()
            } catch let error as CourierAPIError {
                // A refusal (say, a message already deleted) is an answer.
                _ = error
                return nil
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// A device: its live connection and its local copy of every chat, built only from what the
/// connection delivers (and, for a chat joined later, that chat's history loaded then).
struct ChaosDevice: Sendable {
    let person: SignedIn
    let connection: RealtimeConnection
    let model: ChaosModel
    let pump: Task<Void, Never>

    /// Starts as a client does: the chat list first (its positions: where catching up starts), then the socket.
    static func start(client: CourierClient, person: SignedIn) async throws -> ChaosDevice {
        let token = person.token
        let list: ChatList = try await client.call(.GET, "/api/v1/chats?limit=100", token: token)
        let positions = RealtimeConnection.Positions(
            account: list.accountPTS, chats: Dictionary(uniqueKeysWithValues: list.chats.map { ($0.id, $0.pts) })
        )
        let connection = RealtimeConnection(client: client, token: { token }, positions: positions)
        let model = ChaosModel(client: client, token: token)
        let events = connection.events
        let pump = Task { for await event in events { await model.apply(event) } }
        await connection.start()
        return ChaosDevice(person: person, connection: connection, model: model, pump: pump)
    }

    /// Waits until the device holds the server's newest position of every chat of its person and
    /// of their own log (what was in flight has arrived), then loads the history of chats joined.
    func settle(client: CourierClient) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        var stableRounds = 0
        while stableRounds < 3 {
            let server: ChatList = try await client.call(.GET, "/api/v1/chats?limit=100", token: person.token)
            let held = await connection.knownPositions
            guard ContinuousClock.now < deadline else {
                throw RawHTTPError(
                    "device of \(person.user.username) did not catch up: it holds \(held), the server \(server.accountPTS) and "
                        + server.chats.map { "\($0.id.prefix(8)): \($0.pts)" }.joined(separator: ", ")
                        + "; its last events: " + (await model.history).joined(separator: " | ")
                )
            }
            let caughtUp = held.account == server.accountPTS && server.chats.allSatisfy { held.chats[$0.id] == $0.pts }
            stableRounds = caughtUp ? stableRounds + 1 : 0
            try await Task.sleep(for: .milliseconds(100))
        }
        try await model.loadJoinedChats()
    }

    func compare(with client: CourierClient) async throws -> (checked: Int, lost: Int, stale: Int) {
        var checked = 0
        var lost = 0
        var stale = 0
        let local = await model.messages
        for chat in try await client.chats(token: person.token) {
            var after: Int64 = 0
            var server: [ChatMessage] = []
            while true {
                let page = try await client.history(of: chat.id, query: "limit=100&after_seq=\(after)", token: person.token)
                server += page.messages
                after = page.messages.map(\.seq).max() ?? after
                if !page.hasMore { break }
            }
            let mine = local[chat.id] ?? [:]
            for message in server {
                checked += 1
                guard let copy = mine[message.id] else {
                    lost += 1
                    if ProcessInfo.processInfo.environment["COURIER_CHAOS_DEBUG"] != nil {
                        print("lost: \(person.user.username) chat \(chat.id.prefix(8)) seq \(message.seq) \(message.content) held \(await connection.knownPositions.chats[chat.id] ?? -1)")
                    }
                    continue
                }
                if copy != LocalMessage(message) { stale += 1 }
            }
            // Messages the device still shows that the server no longer shows it (hidden for it).
            stale += mine.keys.filter { id in !server.contains { $0.id == id } }.count
        }
        return (checked, lost, stale)
    }

    func stop() async {
        await connection.stop()
        await pump.value
    }
}

/// The chat list's positions.
struct ChatList: Decodable {
    struct Chat: Decodable { let id: String; let pts: Int64 }
    let chats: [Chat]
    let accountPTS: Int64
    enum CodingKeys: String, CodingKey { case chats; case accountPTS = "account_pts" }
}

/// The local state of one device.
actor ChaosModel {
    let client: CourierClient
    let token: String
    /// Per chat, its messages by id as this device has them.
    private(set) var messages: [String: [String: LocalMessage]] = [:]
    /// Updates that arrived at a position already applied (the connection must never do that).
    private(set) var duplicates = 0
    private var applied: Set<String> = []
    private var joined: Set<String> = []

    init(client: CourierClient, token: String) {
        self.client = client
        self.token = token
    }

    /// The last events, for the report of a device that did not catch up.
    private(set) var history: [String] = []

    func apply(_ event: RealtimeConnection.Event) {
        switch event {
        case .frame(let f): history.append("\(f.type) \(f.chatID?.prefix(8) ?? "-") pts \(f.pts ?? -1) acc \(f.accountPTS ?? -1) more \(f.more ?? false)")
        case .connected: history.append("connected")
        case .disconnected(let code): history.append("disconnected \(code ?? 0)")
        case .signedOut: history.append("signed out")
        }
        if history.count > 60 { history.removeFirst() }
        guard case .frame(let frame) = event else { return }
        if let position = frame.accountPTS.map({ "account:\($0)" }) ?? frame.pts.flatMap({ pts in frame.chatID.map { "\($0):\(pts)" } }),
           frame.type != "ack", frame.type != "resumed", frame.type != "chat_joined" {
            if !applied.insert(position).inserted { duplicates += 1 }
        }
        switch frame.type {
        case "new_message", "message_edited":
            if let message = frame.message { messages[message.chatID, default: [:]][message.id] = LocalMessage(message) }
        case "message_deleted":
            if let chat = frame.chatID, let id = frame.messageID, messages[chat]?[id] != nil {
                messages[chat]?[id] = LocalMessage(content: "", deleted: true)
            }
        case "message_hidden":
            if let chat = frame.chatID, let id = frame.messageID { messages[chat]?[id] = nil }
        case "chat_joined":
            if let chat = frame.chatID { joined.insert(chat) }
        case "chat_left":
            if let chat = frame.chatID {
                messages[chat] = nil
                joined.remove(chat)
            }
        default:
            break
        }
    }

    /// A chat joined (again) has history from before the device followed it: loaded now, as a
    /// client does when it opens such a chat.
    func loadJoinedChats() async throws {
        for chat in joined {
            var after: Int64 = 0
            while true {
                let page = try await client.history(of: chat, query: "limit=100&after_seq=\(after)", token: token)
                for message in page.messages where messages[chat]?[message.id] == nil {
                    messages[chat, default: [:]][message.id] = LocalMessage(message)
                }
                after = page.messages.map(\.seq).max() ?? after
                if !page.hasMore { break }
            }
        }
        joined = []
    }
}

/// What a device shows of a message.
struct LocalMessage: Equatable, Sendable {
    let content: String
    let deleted: Bool

    init(content: String, deleted: Bool) {
        self.content = content
        self.deleted = deleted
    }

    init(_ message: ChatMessage) {
        self.init(content: message.content, deleted: message.deletedAt != nil)
    }
}

/// A `courier serve` process on a free port over its own data folder, killed with SIGKILL and
/// started again on the same folder.
final class ChaosServer: Sendable {
    let port: Int
    let folder: TemporaryFolder
    let binary: String
    private let process: ProcessBox

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, folder: TemporaryFolder, binary: String) {
        self.port = port
        self.folder = folder
        self.binary = binary
        self.process = ProcessBox()
    }

    /// The `courier` executable next to the test runner (`swift build --build-tests` builds both).
    static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["COURIER_BINARY"] { return path }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("courier").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        throw RawHTTPError("no courier binary next to \(CommandLine.arguments[0]); set COURIER_BINARY")
    }

    static func start() async throws -> ChaosServer {
        let server = ChaosServer(port: try freePort(), folder: try TemporaryFolder(), binary: try binaryPath())
        try await server.launch()
        return server
    }

    func killAndRestart() async throws {
        if let running = process.take() {
            kill(running.processIdentifier, SIGKILL)
            // Polled rather than `waitUntilExit`, which would hold one of the suite's few threads.
            while running.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await launch()
    }

    func stop() {
        if let running = process.take() {
            kill(running.processIdentifier, SIGKILL)
            running.waitUntilExit()
        }
    }

    private func launch() async throws {
        let running = Process()
        running.executableURL = URL(fileURLWithPath: binary)
        running.arguments = ["serve"]
        running.environment = ProcessInfo.processInfo.environment.merging([
            "COURIER_DATA_DIR": folder.path, "COURIER_PORT": String(port), "COURIER_RATE_LIMITS": "off",
            "COURIER_BCRYPT_COST": "4", "LOG_LEVEL": "error",
        ]) { _, new in new }
        running.standardOutput = FileHandle.nullDevice
        running.standardError = FileHandle.nullDevice
        try ProcessLaunch.run(running)
        process.put(running)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let request = HTTPClientRequest(url: "\(baseURL)/health")
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)), response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RawHTTPError("courier serve did not start on port \(port)")
    }

    /// A free port below Linux's ephemeral range (32768–60999). A port from that range could be
    /// taken, while the server is down, as the local port of a client connecting to it: the client
    /// then connects to itself (TCP simultaneous open) and waits forever for an answer.
    private static func freePort() throws -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20_000..<32_000)
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            if bound { return port }
        }
        throw RawHTTPError("no free port")
    }
}

/// The running server process, shared by the trial's tasks.
final class ProcessBox: @unchecked Sendable {
    private let lock = NSLock()
    private var process: Process?

    func put(_ value: Process) { lock.withLock { process = value } }
    func take() -> Process? { lock.withLock { defer { process = nil }; return process } }
}

/// A small deterministic generator (SplitMix64), so a seed replays a trial's choices.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

import CourierClient
import CourierRealtime
import CourierServer
import CourierStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Runs a real Courier node (HTTP and WebSocket on a free port) over a fresh database of `engine`.
func withLiveServer<T: Sendable>(
    _ engine: TestEngine, gateway: GatewayConfiguration = GatewayConfiguration(), rateLimits: RateLimitSettings = .off,
    telegram: TelegramSettings? = nil, _ body: @Sendable (CourierClient, AppServices) async throws -> T
) async throws -> T {
    try await engine.withStore { store in
        try await runCourier(store: store, gateway: gateway, rateLimits: rateLimits, telegram: telegram, body)
    }
}

/// Runs a real Courier node over `store` until `body` returns (call it twice for a restart).
func runCourier<T: Sendable>(
    store: Store, gateway: GatewayConfiguration = GatewayConfiguration(), rateLimits: RateLimitSettings = .off,
    telegram: TelegramSettings? = nil, bus: any Bus = InProcessBus(), _ body: @Sendable (CourierClient, AppServices) async throws -> T
) async throws -> T {
    let services = try await AppServices(
        store: store, jwtSecret: testJWTSecret, bcryptCost: 4, rateLimits: rateLimits, gateway: gateway, telegram: telegram,
        publicURL: "https://courier.example", bus: bus, logger: TestEngine.logger
    )
    let app = buildApplication(services: services, host: "127.0.0.1", port: 0, logger: TestEngine.logger)
    return try await app.test(.live) { client in
        let port = try #require(client.port)
        return try await body(CourierClient(baseURL: "http://127.0.0.1:\(port)"), services)
    }
}

/// A device connected to the test server, recording every event it gets.
final class TestDevice: Sendable {
    let connection: RealtimeConnection
    let recorder = EventRecorder()
    private let pump: Task<Void, Never>

    init(_ client: CourierClient, token: String, positions: RealtimeConnection.Positions = .init()) async {
        connection = RealtimeConnection(client: client, token: { token }, positions: positions)
        let recorder = self.recorder
        let events = connection.events
        pump = Task { for await event in events { await recorder.record(event) } }
        await connection.start()
    }

    /// Waits until connected and caught up (the server answered the first `resume`).
    func ready() async throws {
        try await recorder.wait("resumed") { $0.contains { $0.type == "resumed" } }
    }

    func stop() async {
        await connection.stop()
        await pump.value
    }

    /// The `new_message` frames received, in order.
    func messages() async -> [ChatMessage] {
        await recorder.frames.filter { $0.type == "new_message" }.compactMap(\.message)
    }
}

actor EventRecorder {
    private(set) var frames: [RealtimeConnection.ServerEvent] = []
    private(set) var closeCodes: [UInt16?] = []
    private(set) var connects = 0
    private(set) var signedOut = false

    func record(_ event: RealtimeConnection.Event) {
        switch event {
        case .frame(let frame): frames.append(frame)
        case .disconnected(let code): closeCodes.append(code)
        case .connected: connects += 1
        case .signedOut: signedOut = true
        }
    }

    /// Polls until `condition` holds on the frames, failing after `seconds`.
    func wait(_ what: String, seconds: Double = 10, _ condition: @Sendable ([RealtimeConnection.ServerEvent]) -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition(frames) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what); got \(frames.map(\.type))")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until the connection reported that its session was signed out.
    func waitForSignOut(seconds: Double = 5) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !signedOut {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for the sign-out")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func waitForClose(seconds: Double = 10) async throws -> UInt16? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while closeCodes.isEmpty {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for a close")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return closeCodes[0]
    }
}

extension CourierClient {
    /// Registers `username` with a phone derived from it.
    func signUp(_ username: String) async throws -> SignedIn {
        try await register(username: username, phone: APIClient.phone(for: username), password: "correct horse battery")
    }
}

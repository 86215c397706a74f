import CourierCore
import CourierRealtime
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdWebSocket
import Logging

/// `GET /ws`: the real-time transport. Authenticates before the upgrade (401 otherwise), holds
/// each device's connection, feeds its frames to a `GatewaySession` and writes its outgoing queue.
struct WebSocketGateway: Sendable {
    let services: AppServices
    let registry: ConnectionRegistry
    let presence: PresenceService
    let configuration: GatewayConfiguration

    init(services: AppServices, registry: ConnectionRegistry, configuration: GatewayConfiguration) {
        self.services = services
        self.registry = registry
        self.configuration = configuration
        self.presence = PresenceService(registry: registry, chats: services.store.chats, users: services.store.users, events: services.events)
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.ws("ws", shouldUpgrade: shouldUpgrade, onUpgrade: run)
    }

    /// Refuses the upgrade for a missing or dead token (401) and when the node is full (503).
    ///
    /// Hummingbird answers every refused upgrade with a bare 400 and closes; a plain `GET /ws`
    /// (without upgrade headers) gets the reason as a JSON error, so a client can find out why.
    @Sendable func shouldUpgrade(request: Request, context: AppRequestContext) async throws -> RouterShouldUpgrade {
        _ = try await authenticate(request)
        guard request.headers[.upgrade]?.lowercased() == "websocket" else {
            // Only a real upgrade may take a place: a plain GET would hold it forever.
            if await registry.count >= registry.maxConnections { throw Self.full }
            throw CourierError(.badRequest, code: "upgrade_required", message: "Connect with a WebSocket client.")
        }
        guard await registry.reserve() else { throw Self.full }
        return .upgrade([:])
    }

    private static let full = CourierError(
        .unavailable, code: "too_many_connections", message: "This server holds all the connections it can; try again soon."
    )

    @Sendable func run(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketRouterContext<AppRequestContext>
    ) async throws {
        let request = context.request
        guard let user = try? await inChildTask({ try await authenticate(request) }) else {
            await registry.cancelReservation()
            try await outbound.close(.policyViolation, reason: "Not signed in.")
            return
        }
        let connection = DeviceConnection(userID: user.userID, queueLimit: configuration.outgoingQueueLimit)
        // `?resume=1`: the client's first frame will be a resume. Hold live traffic from the first
        // moment, so that nothing live overtakes the missed history (released after 10 s at the latest).
        if ["1", "true"].contains(context.request.uri.queryParameters.get("resume") ?? "") {
            connection.holdLiveFrames()
            Task {
                try? await Task.sleep(for: .seconds(10))
                connection.releaseUnlessResuming()
            }
        }
        let isFirst = await registry.register(connection)
        let presence = self.presence
        await inChildTask { await presence.connected(user.userID, isFirst: isFirst) }
        var connectionLogger = context.logger
        connectionLogger[metadataKey: "connection"] = "\(connection.id)"
        let logger = connectionLogger
        let session = GatewaySession(
            user: user, connection: connection, services: services, presence: presence,
            typingInterval: configuration.typingInterval, logger: logger
        )
        defer {
            connection.finish()
            Task {
                let wasLast = await registry.unregister(connection)
                await presence.disconnected(user.userID, wasLast: wasLast)
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in connection.outgoing {
                    try await outbound.write(.text(frame.text))
                }
                if connection.overflowed {
                    logger.notice("closing a connection that does not keep up")
                    try await outbound.close(.unknown(DeviceConnection.overflowCloseCode), reason: "Too far behind; reconnect and resume.")
                }
            }
            for try await message in inbound.messages(maxSize: configuration.maxFrameBytes) {
                guard case .text(let text) = message else {
                    connection.send(ServerFrame.text(ServerFrame.Error(ref: nil, error: .init(code: "invalid_frame", message: "Frames are JSON text."))))
                    continue
                }
                await inChildTask { await session.handle(text) }
            }
            group.cancelAll()
        }
    }

    /// The user of `Authorization: Bearer …` or `?token=…`.
    private func authenticate(_ request: Request) async throws -> AuthenticatedUser {
        guard let token = request.headers.bearer?.token ?? request.uri.queryParameters.get("token"), !token.isEmpty else {
            throw CourierError.unauthorized("Give the access token as 'Authorization: Bearer …' or '?token=…'.")
        }
        return try await services.auth.authenticate(accessToken: token)
    }
}

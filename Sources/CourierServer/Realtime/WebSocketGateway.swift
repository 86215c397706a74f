import CourierCore
import CourierRealtime
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore
import NIOWebSocket

/// `GET /ws`: the real-time transport. Authenticates before the upgrade, holds each device's
/// connection, feeds its frames to a `GatewaySession` and writes its outgoing queue.
///
/// A connection lives only as long as its access: signing its session out closes it at once with
/// 4001 (through the bus, on every node), and it closes with 4002 when its access token expires.
struct WebSocketGateway: Sendable {
    let services: AppServices
    let registry: ConnectionRegistry
    let presence: PresenceService
    let configuration: GatewayConfiguration

    init(services: AppServices, registry: ConnectionRegistry, configuration: GatewayConfiguration) {
        self.services = services
        self.registry = registry
        self.configuration = configuration
        self.presence = services.presence
    }

    /// `GET /ws`: accepts the upgrade (the connection, `HTTPAndWebSocketChannel`, then becomes a
    /// WebSocket and `start` admits it), or answers why not.
    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("ws") { request, context -> Response in
            try await shouldUpgrade(request: request, context: context)
            context.webSocketSlot.accept(WebSocketUpgrade(request: request, logger: context.logger))
            return Response(status: .ok)
        }
    }

    /// Refuses the upgrade for a missing or dead token (401 `unauthorized`, `token_invalid`,
    /// `token_expired`, `session_revoked`), too many upgrades (429), a user at their connection
    /// limit (429) and a full node (503), with the JSON error body a REST call would get.
    ///
    /// Nothing is reserved here: the place is taken when the session starts (`start`), so a client
    /// that vanishes mid-handshake holds nothing.
    func shouldUpgrade(request: Request, context: AppRequestContext) async throws {
        let user = try await authenticate(request, from: context).user
        let isUpgrade = request.headers[.upgrade]?.lowercased() == "websocket"
        if isUpgrade {
            try await services.limiter.take("ws-upgrade:\(user.userID)", services.limiter.settings.webSocketUpgradesPerUser)
        }
        switch await registry.room(for: user.userID) {
        case .nodeFull: throw Self.nodeFull
        case .draining: throw Self.draining
        case .userFull: throw Self.userFull(configuration.maxConnectionsPerUser)
        case .admitted: break
        }
        guard isUpgrade else {
            throw CourierError(.badRequest, code: "upgrade_required", message: "Connect with a WebSocket client.")
        }
    }

    static let nodeFull = CourierError(
        .unavailable, code: "too_many_connections", message: "This server holds all the connections it can; try again soon."
    )

    static let draining = CourierError(
        .unavailable, code: "server_restarting", message: "This server is shutting down; connect again (to another node)."
    )

    static func userFull(_ limit: Int) -> CourierError {
        CourierError(
            .tooManyRequests(retryAfterSeconds: 30), code: "too_many_connections_for_user",
            message: "You have \(limit) connections open already; close one first."
        )
    }


    /// Admits a socket the router accepted, in the connection's task: takes a place for it and
    /// readies it, or closes the socket with the reason it may not open. The task ends then: no
    /// task serves the socket until the client sends something (`WebSocketInbox`). Once a place is
    /// taken, the socket's close gives it back.
    @Sendable func start(_ upgrade: WebSocketUpgrade, inbox: WebSocketInbox, channel: any Channel) async {
        let request = upgrade.request
        let logger = upgrade.logger
        // Who the connection is for, from the token's signature alone: the place is taken first, and
        // the session checked after, so a sign-out published in between is not missed (below).
        let token = Self.token(in: request) ?? ""
        let claimed: (user: AuthenticatedUser, expiresAt: Timestamp)
        do {
            claimed = try await services.auth.tokens.verifyAccessToken(token)
        } catch {
            // Checked moments ago by `shouldUpgrade`: only an expiry in between lands here.
            return Self.refuse(channel, .refusedToken(code: error.code))
        }
        let user = claimed.user
        let connection = DeviceConnection(
            userID: user.userID, sessionID: user.sessionID, queueLimit: configuration.outgoingQueueLimit, overflowGrace: configuration.overflowGrace
        )
        // `?resume=1`: the client's first frame will be a resume. Hold live traffic from the first
        // moment (before the connection is admitted and can receive any), so that nothing live
        // overtakes the missed history (released after 10 s at the latest).
        let resuming = ["1", "true"].contains(request.uri.queryParameters.get("resume") ?? "")
        if resuming { connection.holdLiveFrames() }
        guard case .admitted(let isFirst) = await registry.admit(connection, expiresAt: claimed.expiresAt) else {
            return Self.refuse(channel, .tryAgainLater)
        }
        do {
            try await FrameWriterHandler.install(for: connection, on: channel, pingInterval: configuration.pingInterval) {
                connection.close(.pingTimeout)
            }
        } catch {
            // The channel closed already, or its pipeline is not the one this gateway builds: a
            // socket that cannot be written to or pinged is refused.
            if channel.isActive { logger.warning("could not start the writer of a connection", metadata: ["error": "\(error)"]) }
            // Nothing will write what was queued meanwhile: dropped, so the close frame goes out.
            connection.attachWriter { while connection.takeFrame() != nil {} }
            connection.close(.tryAgainLater)
        }
        if resuming {
            Task {
                try? await Task.sleep(for: .seconds(10))
                connection.releaseUnlessResuming()
            }
        }
        // The session may have been signed out since the upgrade was accepted, and that sign-out was
        // published before this connection was there to close: look now that any later one finds it.
        do {
            _ = try await services.auth.verify(accessToken: token)
        } catch let error as CourierError where error.kind == .unauthorized {
            connection.close(.refusedToken(code: error.code))
        } catch {
            // Not a verdict on the session (the database did not answer): the device just retries.
            connection.close(.tryAgainLater)
        }
        await presence.connected(connection, isFirstHere: isFirst)
        // From here the place is the socket's: its close gives it back, however it comes (at once
        // when it closed during admission), and after `connected`, so presence hears the two in order.
        let registry = self.registry
        let presence = self.presence
        channel.closeFuture.whenComplete { _ in
            connection.finish()
            Task {
                let wasLast = await registry.unregister(connection)
                await presence.disconnected(connection, wasLastHere: wasLast)
            }
        }
        let session = GatewaySession(
            user: user, connection: connection, services: services, presence: presence,
            typingInterval: configuration.typingInterval, logger: logger
        )
        connection.onClose { reason in Self.closing(channel, for: reason, connection: connection, logger: logger) }
        inbox.attach { message in await Self.handle(message, session: session, connection: connection) }
    }

    /// Handles one client message (in the inbox's task, one at a time per socket).
    private static func handle(_ message: ClientMessage, session: GatewaySession, connection: DeviceConnection) async {
        // Once the server has ended the connection, nothing the client still sends counts.
        if connection.closeReason != nil { return }
        guard case .text(let text) = message else {
            connection.send(ServerFrame.text(ServerFrame.Error(ref: nil, error: .init(code: "invalid_frame", message: "Frames are JSON text."))))
            return
        }
        // A draining node answers the frames in hand, then closes. Frames that come after go
        // unanswered: clients send what was not acknowledged again after reconnecting (the
        // same client_msg_id never makes a second message).
        guard connection.beginHandling() else { return }
        await session.handle(text)
        connection.endHandling()
    }

    /// The server ended a connection (signed out, token expired, too far behind, silent): the close
    /// frame with the reason goes out after the frames queued before it, and the client has the
    /// close's grace to answer it; then the connection is reset, whether or not the frames could all
    /// be written (a client that stopped reading). Its place is given back then, not when a silent
    /// client gets round to closing its end.
    private static func closing(_ channel: any Channel, for reason: ConnectionCloseReason, connection: DeviceConnection, logger: Logger) {
        logger.notice("closing a connection", metadata: ["reason": "\(reason.reason)"])
        let cut = channel.eventLoop.scheduleTask(in: TimeAmount(reason.grace)) { reset(channel) }
        channel.closeFuture.whenComplete { _ in cut.cancel() }
        Task {
            // Not when the socket is gone first (cut, or closed by the client): nothing to send on.
            guard await connection.waitUntilWritten() else { return }
            sendClose(reason, on: channel)
        }
    }

    /// Closes a socket that was not admitted: the close frame with the reason, and a reset if the
    /// client does not answer it within the reason's grace.
    private static func refuse(_ channel: any Channel, _ reason: ConnectionCloseReason) {
        let cut = channel.eventLoop.scheduleTask(in: TimeAmount(reason.grace)) { reset(channel) }
        channel.closeFuture.whenComplete { _ in cut.cancel() }
        sendClose(reason, on: channel)
    }

    /// Writes the close frame for `reason` (the socket's `WebSocketReader` closes the socket once the
    /// client answers).
    private static func sendClose(_ reason: ConnectionCloseReason, on channel: any Channel) {
        var data = channel.allocator.buffer(capacity: 2 + reason.reason.utf8.count)
        data.writeInteger(UInt16(reason.code))
        data.writeString(reason.reason)
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data), promise: nil)
    }

    /// Closes `channel` at once with a reset, dropping what is still unsent.
    private static func reset(_ channel: any Channel) {
        channel.eventLoop.execute {
            if let socket = channel as? any SocketOptionProvider {
                _ = socket.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            }
            channel.close(promise: nil)
        }
    }

    /// What the token of `Authorization: Bearer …` or `?token=…` grants (a refused one counts
    /// against the IP address's budget, as on REST).
    private func authenticate(_ request: Request, from context: AppRequestContext) async throws -> (user: AuthenticatedUser, expiresAt: Timestamp) {
        try await services.auth.verify(
            accessToken: Self.token(in: request), from: context.clientAddress,
            missing: CourierError.unauthorized("Give the access token as 'Authorization: Bearer …' or '?token=…'.")
        )
    }

    private static func token(in request: Request) -> String? {
        guard let token = request.headers.bearer?.token ?? request.uri.queryParameters.get("token"), !token.isEmpty else { return nil }
        return token
    }
}

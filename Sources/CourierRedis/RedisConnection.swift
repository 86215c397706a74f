import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One connection to Redis. Commands may be sent from any task at once; they are pipelined, and
/// each waits for its own answer. A command that takes longer than the configured timeout closes
/// the connection (its answers could no longer be matched to their commands), failing every
/// command still waiting on it.
public final class RedisConnection: Sendable {
    let channel: any Channel
    let timeout: Duration

    init(channel: any Channel, timeout: Duration) {
        self.channel = channel
        self.timeout = timeout
    }

    /// Connects, signs in (`AUTH`) and selects the database.
    ///
    /// - Parameter pushes: for a subscriber, where every value Redis sends goes instead of being
    ///   matched to a command.
    public static func connect(
        _ configuration: RedisConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        pushes: AsyncStream<RESPValue>.Continuation? = nil
    ) async throws -> RedisConnection {
        let sslContext = configuration.tls ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.init(configuration.commandTimeout))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: configuration.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                    if let pushes {
                        try channel.pipeline.syncOperations.addHandler(RedisPushHandler(pushes: pushes))
                    } else {
                        try channel.pipeline.syncOperations.addHandler(RedisCommandHandler())
                    }
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .get()
        let connection = RedisConnection(channel: channel, timeout: configuration.commandTimeout)
        do {
            if pushes == nil {
                try await connection.signIn(configuration)
            } else {
                try await connection.signInForPushes(configuration)
            }
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    private func signIn(_ configuration: RedisConfiguration) async throws {
        if let password = configuration.password {
            _ = try await send(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if configuration.database != 0 { _ = try await send(["SELECT", String(configuration.database)]) }
        if let name = configuration.clientName { _ = try await send(["CLIENT", "SETNAME", name]) }
    }

    /// A subscriber's connection sends its `AUTH` and name unanswered by a promise; the answers
    /// arrive as pushes, before any message.
    private func signInForPushes(_ configuration: RedisConfiguration) async throws {
        if let password = configuration.password {
            try await write(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if let name = configuration.clientName { try await write(["CLIENT", "SETNAME", name]) }
    }

    public var isActive: Bool { channel.isActive }

    /// Sends a command and returns Redis's answer; an error reply throws `RedisError.reply`.
    @discardableResult
    public func send(_ parts: [String]) async throws -> RESPValue {
        try await pipeline([parts])[0]
    }

    /// Sends commands in one write and returns their answers in order; the first error reply throws.
    public func pipeline(_ commands: [[String]]) async throws -> [RESPValue] {
        let channel = self.channel
        guard channel.isActive else { throw RedisError.connectionClosed }
        let timedOut = Atomic(false)
        let promises = commands.map { _ in channel.eventLoop.makePromise(of: RESPValue.self) }
        let deadline = channel.eventLoop.scheduleTask(in: .init(timeout)) {
            timedOut.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        for (command, promise) in zip(commands, promises) {
            channel.write(RedisCommandHandler.OutboundIn(.command(command), promise), promise: nil)
        }
        channel.flush()
        var answers: [RESPValue] = []
        for promise in promises {
            do {
                answers.append(try await promise.futureResult.get())
            } catch {
                throw timedOut.load(ordering: .relaxed) ? RedisError.timeout : error
            }
        }
        if let failure = answers.first(where: { if case .error = $0 { true } else { false } }), case .error(let message) = failure {
            throw RedisError.reply(message)
        }
        return answers
    }

    /// Writes a command without waiting for an answer (a subscriber's `SUBSCRIBE`, `PING`).
    func write(_ parts: [String]) async throws {
        var buffer = channel.allocator.buffer(capacity: 64)
        RESPValue.command(parts).write(to: &buffer)
        try await channel.writeAndFlush(buffer)
    }

    public func close() async {
        try? await channel.close()
    }
}

/// A subscriber's pipeline end: everything Redis sends goes to `pushes`, which ends with the
/// connection.
final class RedisPushHandler: ChannelInboundHandler {
    typealias InboundIn = RESPValue
    let pushes: AsyncStream<RESPValue>.Continuation

    init(pushes: AsyncStream<RESPValue>.Continuation) {
        self.pushes = pushes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pushes.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        pushes.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

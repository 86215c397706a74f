import NIOCore
import NIOPosix
import Synchronization

/// A Redis pub/sub subscription that survives reconnects: when the connection drops (Redis
/// restarted, the network broke) it connects again with backoff, subscribes to the same channels,
/// and says so with `.resubscribed`, because Redis does not keep what was published meanwhile: the
/// caller catches up from where the truth is (the database).
///
/// A path that dies without closing (a frozen network, a stopped Redis) would look like silence
/// forever, so the subscriber pings every `heartbeat` and starts over when nothing (a message or
/// the pong) was heard for two of them.
public final class RedisSubscriber: Sendable {
    public enum Event: Sendable, Equatable {
        /// A message published on `channel`.
        case message(channel: String, payload: ByteBuffer)
        /// Subscribed again after a break: messages of the break are lost.
        case resubscribed
    }

    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let task: Task<Void, Never>

    /// Subscribes to `channels` until `stop()`.
    public init(
        configuration: RedisConfiguration, channels: [String], heartbeat: Duration = .seconds(3),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        let (events, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(100_000))
        self.events = events
        self.continuation = continuation
        self.task = Task {
            var first = true
            var backoff = Duration.milliseconds(50)
            while !Task.isCancelled {
                do {
                    let (pushes, pushContinuation) = AsyncStream<RESPValue>.makeStream()
                    let connection = try await RedisConnection.connect(configuration, group: group, pushes: pushContinuation)
                    try await connection.write(["SUBSCRIBE"] + channels)
                    let lastHeard = Mutex(ContinuousClock.now)
                    let watchdog = Task {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: heartbeat)
                            if ContinuousClock.now - lastHeard.withLock({ $0 }) > heartbeat * 2 {
                                await connection.close()
                                return
                            }
                            try? await connection.write(["PING"])
                        }
                    }
                    defer { watchdog.cancel() }
                    var confirmed = 0
                    for await push in pushes {
                        lastHeard.withLock { $0 = .now }
                        guard case .array(let items?) = push, let kind = items.first?.string else {
                            if case .error = push { await connection.close() }  // AUTH refused, say
                            continue
                        }
                        switch kind {
                        case "subscribe":
                            confirmed += 1
                            if confirmed == channels.count {
                                if !first { continuation.yield(.resubscribed) }
                                first = false
                                backoff = .milliseconds(50)
                            }
                        case "message" where items.count == 3:
                            if let channel = items[1].string, case .bulkString(let payload?) = items[2] {
                                continuation.yield(.message(channel: channel, payload: payload))
                            }
                        default:
                            break
                        }
                        if Task.isCancelled { break }
                    }
                    await connection.close()
                } catch {
                    // Redis is away: try again, less often each time, at most every 2 s.
                }
                if Task.isCancelled { break }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
            continuation.finish()
        }
    }

    /// Ends the subscription and its stream.
    public func stop() {
        task.cancel()
        continuation.finish()
    }
}

/// A failed Redis command: Redis answered with an error, the connection broke, or it took too long.
public enum RedisError: Error, Equatable, CustomStringConvertible {
    /// Redis's own error reply (`ERR …`, `WRONGTYPE …`, `NOAUTH …`).
    case reply(String)
    case connectionClosed
    case timeout
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .reply(let message): "Redis: \(message)"
        case .connectionClosed: "the Redis connection closed"
        case .timeout: "Redis did not answer in time"
        case .unexpectedReply(let reply): "unexpected Redis reply: \(reply.prefix(100))"
        }
    }
}

import CourierCore
import Hummingbird
import HummingbirdAuth
import NIOCore

/// The request context of every route: the request's logger and id, the peer address, and the
/// signed-in user once the token authenticator has found one.
public struct AppRequestContext: AuthRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: AuthenticatedUser?
    public let remoteAddress: SocketAddress?
    /// The client's IP address: the peer's, or the one a trusted proxy forwarded.
    public var clientAddress: String?
    /// Where the `/ws` route leaves an accepted upgrade (see `WebSocketUpgradeSlot`).
    let webSocketSlot: WebSocketUpgradeSlot

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.remoteAddress = source.channel.remoteAddress
        self.clientAddress = source.channel.remoteAddress?.ipAddress
        self.webSocketSlot = WebSocketUpgradeSlot()
    }

    /// JSON bodies larger than this are refused with 413 before they are parsed.
    public var maxUploadSize: Int { APILimits.maxJSONBodyBytes }

    /// Answers are written by the streaming encoder (a history page's JSON took a quarter of its
    /// CPU through Foundation's `JSONEncoder`).
    public var responseEncoder: StreamingJSONResponseEncoder { StreamingJSONResponseEncoder() }
}

/// The context of routes that require a signed-in user. Handlers receive `user` as a fact the
/// compiler checks: a request without a valid token never reaches them.
public struct AuthenticatedContext: ChildRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let user: AuthenticatedUser
    public let remoteAddress: SocketAddress?
    /// The client's IP address (see `AppRequestContext.clientAddress`).
    public let clientAddress: String?

    public init(context: AppRequestContext) throws {
        guard let user = context.identity else { throw CourierError.unauthorized() }
        self.coreContext = context.coreContext
        self.user = user
        self.remoteAddress = context.remoteAddress
        self.clientAddress = context.clientAddress
    }

    public var maxUploadSize: Int { APILimits.maxJSONBodyBytes }

    public var responseEncoder: StreamingJSONResponseEncoder { StreamingJSONResponseEncoder() }
}

/// Size limits on what clients send.
public enum APILimits {
    public static let maxJSONBodyBytes = 64 * 1024
}

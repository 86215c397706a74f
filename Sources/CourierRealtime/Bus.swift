import Foundation

/// Carries what every node must act on (frames of ephemeral events, signed-out sessions, hints of
/// stored updates) from the node where it happened to every node, each of which applies it to its
/// own connections.
///
/// In-process by default; a Redis implementation lets several nodes serve one deployment.
public protocol Bus: Sendable {
    /// Sends an event to every node, this one included.
    func publish(_ event: BusEvent) async throws

    /// Tells the other nodes that updates were stored on this one (which delivered them to its own
    /// sockets already). A bus of one node has no one to tell.
    func announce(_ hint: UpdateHint) async throws

    /// The events published on any node, for this node's connections. One consumer per node.
    func events() -> AsyncStream<BusEvent>
}

/// What travels on the bus.
public enum BusEvent: Sendable, Codable, Equatable {
    /// A frame of an event the log does not keep (typing, presence) for the devices of some users.
    case delivery(Delivery)
    /// Updates another node stored: read them from the log for this node's devices.
    case updatesStored(UpdateHint)
    /// Device sessions that were signed out: their sockets close on every node.
    case sessionsEnded(SessionsEnded)
    /// An upload left background work (a video's 720p variant): the node that runs the
    /// deployment's jobs wakes up for it.
    case mediaWorkQueued
    /// Events on the bus may have been lost (this node was cut off from Redis for a while): every
    /// connection of this node catches up from the update log. Never published; a bus says it.
    case resync
}

/// Device sessions of one user that no longer hold access.
public struct SessionsEnded: Sendable, Equatable, Codable {
    public var userID: UUID
    /// The sessions signed out; nil means every session of the user.
    public var sessionIDs: Set<UUID>?

    public init(userID: UUID, sessionIDs: Set<UUID>?) {
        self.userID = userID
        self.sessionIDs = sessionIDs
    }
}

/// The bus of a single node: an event published here is handled here.
public final class InProcessBus: Bus {
    private let stream: AsyncStream<BusEvent>
    private let continuation: AsyncStream<BusEvent>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: BusEvent.self, bufferingPolicy: .unbounded)
    }

    public func publish(_ event: BusEvent) async throws {
        continuation.yield(event)
    }

    public func announce(_ hint: UpdateHint) async throws {}

    public func events() -> AsyncStream<BusEvent> { stream }

    deinit { continuation.finish() }
}

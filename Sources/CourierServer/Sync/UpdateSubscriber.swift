import CourierCore
import CourierStore
import Foundation

/// Updates that one change stored, once its transaction committed: what every consumer of the
/// update log hears about ("update stored").
public struct StoredUpdates: Sendable {
    public let updates: LoggedUpdates
    /// The messages the updates are about, as they are now (so consumers read nothing again).
    public let messages: [UUID: Message]
    /// The WebSocket that made the change: it gets an ack instead of the update.
    public let excludedConnection: UUID?
    /// Members of chats the change's own transaction read (a new message's small chat), so that
    /// delivering it reads them no more; other chats' members are read after the commit.
    public var members: [UUID: [UUID]] = [:]
}

/// A consumer of "update stored": real-time fan-out, the Telegram relay, and whatever comes next.
/// Each is told of every change after it committed; none may hold the change's caller up for long
/// (the sender's ack waits for them), and a failure of one is its own to log.
public protocol UpdateSubscriber: Sendable {
    func updatesStored(_ stored: StoredUpdates) async
}

import CourierCore
import CourierRealtime
import CourierStore
import Foundation

/// Who is online: a user is online while at least one of their devices is connected; when the
/// last one disconnects, `last_seen` is stored. Visible only to people who share a DM or group.
public struct PresenceService: Sendable {
    let registry: ConnectionRegistry
    let chats: ChatStore
    let users: UserStore
    let events: EventPublisher

    public struct Status: Sendable {
        public let userID: UUID
        public let online: Bool
        public let lastSeen: Timestamp?
    }

    /// A device connected; the first one makes the user online for their peers.
    func connected(_ userID: UUID, isFirst: Bool) async {
        guard isFirst else { return }
        await events.presence(of: userID, online: true, lastSeen: nil, to: (try? await chats.peers(of: userID)) ?? [])
    }

    /// A device disconnected; after the last one the user is offline, seen now.
    func disconnected(_ userID: UUID, wasLast: Bool) async {
        guard wasLast else { return }
        let now = Timestamp.now()
        try? await users.setLastSeen(userID, at: now)
        await events.presence(of: userID, online: false, lastSeen: now, to: (try? await chats.peers(of: userID)) ?? [])
    }

    /// The status of those among `ids` who share a chat with `viewer`.
    func status(of ids: [UUID], for viewer: UUID) async throws -> [Status] {
        let visible = Set(try await chats.peers(of: viewer)).intersection(ids)
        let lastSeen = try await users.lastSeen(Array(visible))
        var result: [Status] = []
        for id in visible.sorted(by: { $0.uuidString < $1.uuidString }) {
            let online = await registry.isOnline(id)
            result.append(Status(userID: id, online: online, lastSeen: online ? nil : lastSeen[id]))
        }
        return result
    }
}

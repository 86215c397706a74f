import CourierRealtime
import Foundation

/// Presence of a single node: its connection registry is the whole truth, and nothing expires.
struct LocalPresenceDirectory: PresenceDirectory {
    let registry: ConnectionRegistry

    var upkeepInterval: Duration? { nil }

    func connected(userID: UUID, connectionID: UUID) async throws -> Bool {
        await registry.connectionCount(of: userID) == 1
    }

    func disconnected(userID: UUID, connectionID: UUID) async throws -> Bool {
        await !registry.isOnline(userID)
    }

    func online(among userIDs: [UUID]) async throws -> Set<UUID> {
        Set(await registry.connected(among: userIDs))
    }

    func refresh(_ devices: [(userID: UUID, connectionID: UUID)]) async throws -> [UUID] { [] }

    func expired() async throws -> [UUID] { [] }
}

import CourierRealtime
import Foundation

/// Presence of a single node: its connection registry is the whole truth, and nothing expires.
struct LocalPresenceDirectory: PresenceDirectory {
    let registry: ConnectionRegistry

    var upkeepInterval: Duration? { nil }

    /// The registry decided it, atomically with the admission (two devices connecting at once
    /// cannot both be first, or neither).
    func connected(userID: UUID, connectionID: UUID, isFirstHere: Bool) async throws -> Bool { isFirstHere }

    func disconnected(userID: UUID, connectionID: UUID, wasLastHere: Bool) async throws -> Bool { wasLastHere }

    func online(among userIDs: [UUID]) async throws -> Set<UUID> {
        Set(await registry.connected(among: userIDs))
    }

    func refresh(_ devices: [(userID: UUID, connectionID: UUID)]) async throws -> [UUID] { [] }

    func expired() async throws -> [UUID] { [] }
}

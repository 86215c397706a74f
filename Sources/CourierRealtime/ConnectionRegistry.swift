import CourierCore
import Foundation
import HeapModule

/// The WebSocket connections open on this node, by user, within the node's and each user's limit.
///
/// A place is taken only by `admit`, when the WebSocket session starts, and given back by
/// `unregister` when it ends: nothing is held for an upgrade in progress, so a client that vanishes
/// during the handshake cannot leak a place.
public actor ConnectionRegistry {
    public let maxConnections: Int
    public let maxConnectionsPerUser: Int
    private var connections: [UUID: [UUID: DeviceConnection]] = [:]
    /// Open connections by id, for closing them when their token expires.
    private var byID: [UUID: (connection: DeviceConnection, expiresAt: Int64)] = [:]
    /// When each connection's access token expires, soonest first: `closeExpired` looks only at
    /// those due, not at every connection. Entries of connections gone already are skipped.
    private var expiries = Heap<Expiry>()

    private struct Expiry: Comparable {
        let milliseconds: Int64
        let connectionID: UUID

        static func < (lhs: Expiry, rhs: Expiry) -> Bool {
            (lhs.milliseconds, lhs.connectionID.uuidString) < (rhs.milliseconds, rhs.connectionID.uuidString)
        }
    }
    /// Set when the node shuts down: no connection is admitted any more.
    public private(set) var isDraining = false
    /// Kept alongside `connections` so admitting a connection costs the same at 10 or 10,000.
    private var open = 0

    public init(maxConnections: Int, maxConnectionsPerUser: Int = .max) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerUser = maxConnectionsPerUser
    }

    /// Open connections.
    public var count: Int { open }

    /// Whether a connection may be opened, or which limit stops it.
    public enum Admission: Sendable, Equatable {
        /// Admitted; `isFirst` when it is the user's only connection on this node.
        case admitted(isFirst: Bool)
        case nodeFull
        case userFull
        /// The node is shutting down.
        case draining
    }

    /// Whether `userID` could open one more connection now (checked before an upgrade, which
    /// `admit` decides for good).
    public func room(for userID: UUID) -> Admission {
        if isDraining { return .draining }
        if open >= maxConnections { return .nodeFull }
        let mine = connections[userID]?.count ?? 0
        if mine >= maxConnectionsPerUser { return .userFull }
        return .admitted(isFirst: mine == 0)
    }

    /// Opens `connection` when both limits allow it. Its access token expires at `expiresAt`, after
    /// which `closeExpired` closes it.
    public func admit(_ connection: DeviceConnection, expiresAt: Timestamp) -> Admission {
        let verdict = room(for: connection.userID)
        guard case .admitted = verdict else { return verdict }
        connections[connection.userID, default: [:]][connection.id] = connection
        byID[connection.id] = (connection, expiresAt.milliseconds)
        expiries.insert(Expiry(milliseconds: expiresAt.milliseconds, connectionID: connection.id))
        open += 1
        return verdict
    }

    /// Removes a connection. Returns true when it was the user's last.
    @discardableResult
    public func unregister(_ connection: DeviceConnection) -> Bool {
        if connections[connection.userID]?.removeValue(forKey: connection.id) != nil {
            open -= 1
            byID[connection.id] = nil
            // Entries of closed connections wait in the heap until their time; when they are most
            // of it (many reconnects), it is rebuilt from the open ones.
            if expiries.count > 2 * byID.count + 1024 {
                expiries = Heap(byID.map { Expiry(milliseconds: $0.value.expiresAt, connectionID: $0.key) })
            }
        }
        if connections[connection.userID]?.isEmpty == true {
            connections[connection.userID] = nil
            return true
        }
        return false
    }

    /// Stops admitting connections and returns those open, to be drained.
    public func beginDraining() -> [DeviceConnection] {
        isDraining = true
        return openConnections()
    }

    /// Every open connection of this node.
    public func openConnections() -> [DeviceConnection] {
        connections.values.flatMap(\.values)
    }

    public func isOnline(_ userID: UUID) -> Bool {
        !(connections[userID]?.isEmpty ?? true)
    }

    /// Those among `userIDs` with a connection on this node.
    public func connected(among userIDs: [UUID]) -> [UUID] {
        userIDs.filter { connections[$0] != nil }
    }

    /// Queues a delivery on every local connection of its recipients and returns on how many.
    /// Never waits for a device.
    @discardableResult
    public func deliver(_ delivery: Delivery) -> Int {
        var queued = 0
        for userID in delivery.recipients {
            guard let devices = connections[userID] else { continue }
            for (id, connection) in devices where id != delivery.excludedConnection && delivery.sessions?.admits(connection.sessionID) ?? true {
                connection.enqueue(delivery.frame, position: delivery.position)
                queued += 1
            }
        }
        return queued
    }

    /// Closes the connections of sessions that were signed out. Returns how many it closed.
    @discardableResult
    public func close(_ ended: SessionsEnded) -> Int {
        guard let devices = connections[ended.userID] else { return 0 }
        var closed = 0
        for connection in devices.values where ended.sessionIDs?.contains(connection.sessionID) ?? true {
            connection.close(.sessionRevoked)
            closed += 1
        }
        return closed
    }

    /// Closes the connections of `userIDs` with `reason` (they reconnect and resume).
    public func close(users userIDs: [UUID], _ reason: ConnectionCloseReason) {
        for userID in userIDs {
            connections[userID]?.values.forEach { $0.close(reason) }
        }
    }

    /// Closes every connection with `reason` (they reconnect and resume). Returns how many it closed.
    @discardableResult
    public func closeAll(_ reason: ConnectionCloseReason) -> Int {
        var closed = 0
        for devices in connections.values {
            for connection in devices.values {
                connection.close(reason)
                closed += 1
            }
        }
        return closed
    }

    /// Closes every connection whose access token expired by `now`. Returns how many it closed.
    @discardableResult
    public func closeExpired(at now: Timestamp) -> Int {
        var closed = 0
        while let soonest = expiries.min, soonest.milliseconds <= now.milliseconds {
            expiries.removeMin()
            guard let entry = byID[soonest.connectionID] else { continue }
            entry.connection.close(.tokenExpired)
            closed += 1
        }
        return closed
    }

    /// The device sessions with an open connection on this node, by user.
    public func openSessions() -> [UUID: Set<UUID>] {
        connections.mapValues { Set($0.values.map(\.sessionID)) }
    }
}

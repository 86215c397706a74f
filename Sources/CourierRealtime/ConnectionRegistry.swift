import Foundation

/// The WebSocket connections open on this node, by user, with a limit on how many may be open.
public actor ConnectionRegistry {
    public let maxConnections: Int
    private var connections: [UUID: [UUID: DeviceConnection]] = [:]
    private var reserved = 0
    /// Kept alongside `connections` so admitting a connection costs the same at 10 or 10,000.
    private var open = 0

    public init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// Open connections plus upgrades in progress.
    public var count: Int { reserved + open }

    /// Claims a place for an upgrade in progress; false when the node is full.
    public func reserve() -> Bool {
        guard count < maxConnections else { return false }
        reserved += 1
        return true
    }

    /// Gives back a place claimed by `reserve` whose upgrade did not happen.
    public func cancelReservation() {
        reserved = max(0, reserved - 1)
    }

    /// Turns a reservation into an open connection. Returns true when it is the user's first.
    @discardableResult
    public func register(_ connection: DeviceConnection) -> Bool {
        reserved = max(0, reserved - 1)
        let first = connections[connection.userID]?.isEmpty ?? true
        if connections[connection.userID, default: [:]].updateValue(connection, forKey: connection.id) == nil {
            open += 1
        }
        return first
    }

    /// Removes a connection. Returns true when it was the user's last.
    @discardableResult
    public func unregister(_ connection: DeviceConnection) -> Bool {
        if connections[connection.userID]?.removeValue(forKey: connection.id) != nil {
            open -= 1
        }
        if connections[connection.userID]?.isEmpty == true {
            connections[connection.userID] = nil
            return true
        }
        return false
    }

    public func isOnline(_ userID: UUID) -> Bool {
        !(connections[userID]?.isEmpty ?? true)
    }

    /// Queues a delivery on every local connection of its recipients. Never waits for a device.
    public func deliver(_ delivery: Delivery) {
        for userID in delivery.recipients {
            guard let devices = connections[userID] else { continue }
            for (id, connection) in devices where id != delivery.excludedConnection {
                connection.enqueue(delivery.frame, sequence: delivery.sequence)
            }
        }
    }
}

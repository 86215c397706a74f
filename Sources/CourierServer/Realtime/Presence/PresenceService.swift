import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// Who is online: a person is online while at least one of their devices is connected, on any
/// node; when the last one disconnects (or its node dies and its entry expires), `last_seen` is
/// stored and their peers are told. Visible only to people who share a DM or group.
///
/// The directory (this node's registry, or Redis for several nodes) is asked first; when it cannot
/// answer, this node's own connections stand in, so a Redis outage degrades presence, never a request.
public struct PresenceService: Sendable {
    let directory: any PresenceDirectory
    let registry: ConnectionRegistry
    let chats: ChatStore
    let users: UserStore
    let events: EventPublisher
    let logger: Logger

    public struct Status: Sendable {
        public let userID: UUID
        public let online: Bool
        public let lastSeen: Timestamp?
    }

    /// A device connected; the first one makes its person online for their peers.
    func connected(_ connection: DeviceConnection, isFirstHere: Bool) async {
        let isFirst = await ask(orElse: isFirstHere) {
            try await $0.connected(userID: connection.userID, connectionID: connection.id, isFirstHere: isFirstHere)
        }
        if isFirst { await announceOnline(connection.userID) }
    }

    /// A device disconnected; after the last one its person is offline, seen now.
    func disconnected(_ connection: DeviceConnection, wasLastHere: Bool) async {
        let wasLast = await ask(orElse: wasLastHere) {
            try await $0.disconnected(userID: connection.userID, connectionID: connection.id, wasLastHere: wasLastHere)
        }
        if wasLast { await announceOffline(connection.userID) }
    }

    /// The directory's answer, or, when it does not answer (Redis away), what this node knows.
    private func ask<T: Sendable>(orElse fallback: @autoclosure () async -> T, _ question: (any PresenceDirectory) async throws -> T) async -> T {
        do {
            return try await question(directory)
        } catch {
            logger.warning("presence directory did not answer", metadata: ["error": "\(error)"])
            return await fallback()
        }
    }

    /// Whether `userID` has a device online anywhere.
    func isOnline(_ userID: UUID) async -> Bool {
        await online(among: [userID]).contains(userID)
    }

    /// The status of those among `ids` who share a chat with `viewer`.
    func status(of ids: [UUID], for viewer: UUID) async throws -> [Status] {
        let visible = Array(Set(try await chats.peers(of: viewer)).intersection(ids)).sorted { $0.uuidString < $1.uuidString }
        let lastSeen = try await users.lastSeen(visible)
        let online = await online(among: visible)
        return visible.map { id in
            Status(userID: id, online: online.contains(id), lastSeen: online.contains(id) ? nil : lastSeen[id])
        }
    }

    /// Keeps this node's devices online in the directory, and announces offline the people whose
    /// devices expired (their node died). Run every few seconds, on every node.
    func upkeep() async throws {
        let open = await registry.openConnections()
        for userID in try await directory.refresh(open.map { ($0.userID, $0.id) }) {
            await announceOnline(userID)
        }
        for userID in try await directory.expired() {
            await announceOffline(userID)
        }
    }

    private func online(among ids: [UUID]) async -> Set<UUID> {
        await ask(orElse: Set(await registry.connected(among: ids))) { try await $0.online(among: ids) }
    }

    private func announceOnline(_ userID: UUID) async {
        await events.presence(of: userID, online: true, lastSeen: nil, to: (try? await chats.peers(of: userID)) ?? [])
    }

    private func announceOffline(_ userID: UUID) async {
        let now = Timestamp.now()
        try? await users.setLastSeen(userID, at: now)
        await events.presence(of: userID, online: false, lastSeen: now, to: (try? await chats.peers(of: userID)) ?? [])
    }
}

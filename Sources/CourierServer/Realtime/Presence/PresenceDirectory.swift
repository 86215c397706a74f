import Foundation

/// Which devices are online, deployment-wide: a person is online while one of their devices is.
///
/// One node keeps it in its connection registry (`LocalPresenceDirectory`); several share it in
/// Redis (`RedisPresenceDirectory`), where each device's entry expires unless its node keeps
/// refreshing it, so the people of a node that died go offline by themselves.
public protocol PresenceDirectory: Sendable {
    /// How often a node refreshes its devices and sweeps expired ones; nil when nothing expires.
    var upkeepInterval: Duration? { get }

    /// A device connected (`isFirstHere`: its person's first on this node, as the registry decided
    /// when it admitted it). Returns true when its person was offline until now.
    func connected(userID: UUID, connectionID: UUID, isFirstHere: Bool) async throws -> Bool

    /// A device disconnected (`wasLastHere`: its person's last on this node). Returns true when its
    /// person has no device online any more.
    func disconnected(userID: UUID, connectionID: UUID, wasLastHere: Bool) async throws -> Bool

    /// Those among `userIDs` who are online.
    func online(among userIDs: [UUID]) async throws -> Set<UUID>

    /// Keeps the entries of this node's open connections alive. Returns the people who were
    /// offline (their entry had expired: this node was cut off for a while) and are online again.
    func refresh(_ devices: [(userID: UUID, connectionID: UUID)]) async throws -> [UUID]

    /// The people whose last device expired (its node died), each reported to one node only, which
    /// announces them offline.
    func expired() async throws -> [UUID]
}

import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// Delivers to this node's sockets the updates other nodes stored, when a hint names them: chat
/// updates through the `ChatUpdateSequencer` (in order with this node's own), a person's own
/// updates read here when one of their devices is connected to this node.
///
/// Each person's log is read by one task at a time, in order; hints that arrive meanwhile wait and
/// are read together. When a read fails, the person's devices are closed with `catch_up`, so they
/// resume from the log themselves: a failure costs latency, never an update.
actor RemoteUpdateReader {
    let fanOut: RealtimeFanOut
    let updates: UpdateStore
    let logger: Logger

    /// Ranges of people's logs hinted and not read yet.
    private var waiting: [UUID: [StoredRange]] = [:]

    init(fanOut: RealtimeFanOut, updates: UpdateStore, logger: Logger) {
        self.fanOut = fanOut
        self.updates = updates
        self.logger = logger
    }

    /// Takes in a hint from another node.
    func received(_ hint: UpdateHint) async {
        for range in hint.chats { await fanOut.sequencer.hinted(range) }
        for range in hint.accounts {
            let idle = waiting[range.stream] == nil
            waiting[range.stream, default: []].append(range)
            if idle { Task { await drain(range.stream) } }
        }
    }

    private func drain(_ userID: UUID) async {
        while let ranges = waiting[userID], !ranges.isEmpty {
            waiting[userID] = []
            await read(ranges, of: userID)
        }
        waiting[userID] = nil
    }

    private func read(_ ranges: [StoredRange], of userID: UUID) async {
        guard await fanOut.delivery.registry.isOnline(userID),
              let first = ranges.map(\.first).min(), let last = ranges.map(\.last).max() else { return }
        do {
            var after = first - 1
            while after < last {
                let page = try await updates.accountUpdates(of: userID, after: after, limit: Int(min(500, last - after)))
                guard let newest = page.last?.pts else { break }
                // Only the positions hinted: those in between may be this node's own, delivered already.
                let wanted = page.filter { update in ranges.contains { ($0.first...$0.last).contains(update.pts) } }
                await fanOut.delivery.deliver(StoredUpdates(updates: LoggedUpdates(account: wanted), messages: [:], excludedConnection: nil))
                after = newest
            }
        } catch {
            logger.warning("updates of another node not read; the devices here catch up", metadata: ["user_id": "\(userID)", "error": "\(error)"])
            await fanOut.delivery.registry.close(users: [userID], .catchUp)
        }
    }
}

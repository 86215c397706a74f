import Foundation
import Synchronization

/// Senders this process saw post in a chat, as a hint only: a send from one of them goes straight
/// to its write transaction, which checks the right to post anyway; anyone else's send is checked
/// with a read first, so that refused sends (an outsider, a channel's subscriber) cost a read and
/// never a place in the writer that every send passes through.
///
/// A hint that went stale (the sender was removed since) costs one refusal in the writer, which
/// forgets it. Bounded: when full it starts over, and senders are checked by a read again.
final class KnownPosters: Sendable {
    private struct Poster: Hashable {
        let chatID: UUID
        let userID: UUID
    }

    private let posters = Mutex(Set<Poster>())
    let limit: Int

    init(limit: Int = 100_000) {
        self.limit = limit
    }

    func contains(_ userID: UUID, in chatID: UUID) -> Bool {
        posters.withLock { $0.contains(Poster(chatID: chatID, userID: userID)) }
    }

    func insert(_ userID: UUID, in chatID: UUID) {
        posters.withLock { posters in
            if posters.count >= limit { posters.removeAll(keepingCapacity: true) }
            posters.insert(Poster(chatID: chatID, userID: userID))
        }
    }

    /// How many are remembered now.
    var count: Int { posters.withLock { $0.count } }

    func remove(_ userID: UUID, in chatID: UUID) {
        _ = posters.withLock { $0.remove(Poster(chatID: chatID, userID: userID)) }
    }
}

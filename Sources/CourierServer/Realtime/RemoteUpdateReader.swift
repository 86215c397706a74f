import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// Delivers to this node's sockets the updates other nodes stored, read from the update log when a
/// hint names them.
///
/// Each stream (a chat, a person's own log) is read by one task at a time, in order; hints that
/// arrive meanwhile wait and are read together, so a busy chat costs one read per batch, not per
/// message. A stream none of this node's devices follows costs one membership read and nothing more.
/// When a read fails, the devices concerned are closed with `catch_up`, so they resume from the log
/// themselves: a failure costs latency, never an update.
actor RemoteUpdateReader {
    let fanOut: RealtimeFanOut
    let updates: UpdateStore
    let logger: Logger

    private enum Stream: Hashable {
        case chat(UUID)
        case account(UUID)
    }

    /// Ranges hinted and not read yet, by stream.
    private var waiting: [Stream: [StoredRange]] = [:]
    /// Streams a task is reading.
    private var reading: Set<Stream> = []

    /// The most one read fetches; a longer run of hinted positions is read in pages.
    static let pageSize = 500

    init(fanOut: RealtimeFanOut, updates: UpdateStore, logger: Logger) {
        self.fanOut = fanOut
        self.updates = updates
        self.logger = logger
    }

    /// Takes in a hint from another node.
    func received(_ hint: UpdateHint) {
        for range in hint.chats { enqueue(range, in: .chat(range.stream)) }
        for range in hint.accounts { enqueue(range, in: .account(range.stream)) }
    }

    private func enqueue(_ range: StoredRange, in stream: Stream) {
        waiting[stream, default: []].append(range)
        guard reading.insert(stream).inserted else { return }
        Task { await drain(stream) }
    }

    private func drain(_ stream: Stream) async {
        while let ranges = waiting.removeValue(forKey: stream) {
            switch stream {
            case .chat(let chatID): await readChat(chatID, ranges)
            case .account(let userID): await readAccount(userID, ranges)
            }
        }
        reading.remove(stream)
    }

    private func readChat(_ chatID: UUID, _ ranges: [StoredRange]) async {
        var here: [UUID] = []
        do {
            let members = try await fanOut.chats.memberIDs(of: chatID)
            here = await fanOut.registry.connected(among: members)
            guard !here.isEmpty else { return }
            for page in try await read(ranges, with: { try await updates.chatUpdates(of: chatID, after: $0, limit: $1) }, pts: \.pts) {
                let messageIDs = page.filter { $0.kind == .newMessage || $0.kind == .messageEdited }.compactMap(\.messageID)
                let messages = try await fanOut.messages.find(ids: messageIDs)
                await fanOut.deliverHere(
                    StoredUpdates(updates: LoggedUpdates(chat: page), messages: messages, excludedConnection: nil), members: [chatID: members]
                )
            }
        } catch {
            logger.warning("updates of another node not read; their devices here catch up", metadata: ["chat_id": "\(chatID)", "error": "\(error)"])
            await fanOut.registry.close(users: here, .catchUp)
        }
    }

    private func readAccount(_ userID: UUID, _ ranges: [StoredRange]) async {
        guard await fanOut.registry.isOnline(userID) else { return }
        do {
            for page in try await read(ranges, with: { try await updates.accountUpdates(of: userID, after: $0, limit: $1) }, pts: \.pts) {
                await fanOut.deliverHere(StoredUpdates(updates: LoggedUpdates(account: page), messages: [:], excludedConnection: nil))
            }
        } catch {
            logger.warning("updates of another node not read; their devices here catch up", metadata: ["user_id": "\(userID)", "error": "\(error)"])
            await fanOut.registry.close(users: [userID], .catchUp)
        }
    }

    /// The updates at the positions `ranges` cover (and only those: positions in between may be this
    /// node's own, delivered here already), in pages, oldest first.
    private func read<Update>(
        _ ranges: [StoredRange], with fetch: (_ after: Int64, _ limit: Int) async throws -> [Update], pts: KeyPath<Update, Int64>
    ) async throws -> [[Update]] {
        guard let first = ranges.map(\.first).min(), let last = ranges.map(\.last).max() else { return [] }
        var pages: [[Update]] = []
        var after = first - 1
        while after < last {
            let fetched = try await fetch(after, Int(min(Int64(Self.pageSize), last - after)))
            guard let newest = fetched.last?[keyPath: pts] else { break }
            let wanted = fetched.filter { update in ranges.contains { ($0.first...$0.last).contains(update[keyPath: pts]) } }
            if !wanted.isEmpty { pages.append(wanted) }
            after = newest
        }
        return pages
    }
}

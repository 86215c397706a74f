import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// Puts each chat's updates on this node's sockets in `pts` order, without gaps, whichever node
/// stored them.
///
/// Updates stored here arrive with their content; those stored on other nodes arrive as hints and
/// are read from the log. Either can overtake the other (two senders on two nodes, or two tasks on
/// one), and a device that sees `pts` 8 before 7 takes it for a gap and resumes, which costs a
/// round of reads per device. So each chat's updates wait here until their predecessors went out:
/// a missing one is waited for briefly (`gapPatience`), then read from the log, where it is
/// already (a chat's updates commit in `pts` order, so once 8 is committed, 7 is too).
///
/// A chat this node did not follow yet (none of its updates reached the node since it started)
/// starts from the log, not from whichever update arrived first: updates stored shortly before
/// that one may still be on their way (another node's hint, or a slower task here), and without
/// a position to continue from they would be taken as already passed.
///
/// One task per chat with work does the delivering; chats no device here follows cost a membership
/// read per batch of hints and nothing more.
actor ChatUpdateSequencer {
    let delivery: LocalDelivery
    let updates: UpdateStore
    let gapPatience: Duration
    let logger: Logger

    /// An update with what delivering it needs.
    private struct Item {
        var update: ChatUpdate
        var message: Message?
        /// The connection that made it (it gets an ack instead).
        var excludedConnection: UUID?
        /// The chat's members as the update's own transaction read them, when it did.
        var members: [UUID]?
    }

    private struct Stream {
        /// The newest position that went out (nil: none since this node started following the chat).
        var deliveredUpTo: Int64?
        /// Updates waiting for their predecessors, by position.
        var waiting: [Int64: Item] = [:]
        /// Positions other nodes stored, not read yet.
        var hinted: [StoredRange] = []
        /// Since when the next position is missing while later ones wait.
        var gapSince: ContinuousClock.Instant?
        var draining = false
        /// Whether where the stream starts was looked up (see `start`).
        var started = false
    }

    private var streams: [UUID: Stream] = [:]
    /// A caller of `stored` waiting until its updates went out.
    private struct Waiter {
        let pts: Int64
        /// When it stops waiting whether or not they went out (`ackPatience` after it began).
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, Never>
    }

    /// Callers of `stored` waiting until their updates went out, by chat.
    private var waiters: [UUID: [Waiter]] = [:]
    /// The most `stored` waits for its updates to go out.
    let ackPatience: Duration
    /// The one task that releases waiters whose patience ran out, while there are waiters.
    private var patienceTimer: Task<Void, Never>?
    /// How many times a patience timer was started (tests: one timer serves every waiter).
    private(set) var patienceTimersStarted = 0
    /// Chats followed at most; past that, the positions of idle chats are forgotten (the next
    /// update of such a chat starts it again, as after a restart).
    static let maxStreams = 100_000
    /// Since when this node follows every chat: a chat with no stream had none of its updates
    /// stored after this reach the node, except those on their way. Moves on when idle streams
    /// are forgotten.
    private var followingSince: Timestamp
    /// How much earlier than `followingSince` an update on its way may be dated (another node's
    /// clock, a hint held up in an outbox). Updates this recent are read when a stream starts;
    /// a device that had one already ignores the copy.
    let startSlack: Duration
    /// Whether a new stream starts from the log (`start`). Only where other nodes store updates:
    /// on one node every update reaches the sequencer directly, and a node that restarts would
    /// send devices that already caught up the updates of the slack again.
    let startsFromLog: Bool
    /// How many positions before a new stream's first update `start` looks at.
    static let startWindow: Int64 = 256

    init(
        delivery: LocalDelivery, updates: UpdateStore, gapPatience: Duration = .milliseconds(30), ackPatience: Duration = .milliseconds(150),
        followingSince: Timestamp = .now(), startSlack: Duration = .seconds(5), startsFromLog: Bool = true, logger: Logger
    ) {
        self.startsFromLog = startsFromLog
        self.followingSince = followingSince
        self.startSlack = startSlack
        self.delivery = delivery
        self.updates = updates
        self.gapPatience = gapPatience
        self.ackPatience = ackPatience
        self.logger = logger
    }

    /// Updates stored on this node, with the messages they are about. Returns once they went out
    /// (or after `ackPatience`): the change's ack, sent after, then never overtakes an update
    /// before it, which the device would take for a gap.
    ///
    /// `members` are chats' members the updates' transaction read (see `MessageStore.append`).
    func stored(_ chatUpdates: [ChatUpdate], messages: [UUID: Message], members: [UUID: [UUID]] = [:], excluding connection: UUID?) async {
        for update in chatUpdates {
            logger.trace("stored here", metadata: ["chat_id": "\(update.chatID)", "pts": "\(update.pts)"])
            let item = Item(
                update: update, message: update.messageID.flatMap { messages[$0] }, excludedConnection: connection, members: members[update.chatID]
            )
            mutate(update.chatID) { stream in
                if let delivered = stream.deliveredUpTo, update.pts <= delivered { return }
                stream.waiting[update.pts] = item
            }
        }
        for (chatID, updates) in Dictionary(grouping: chatUpdates, by: \.chatID) {
            guard let newest = updates.map(\.pts).max() else { continue }
            await waitUntilDelivered(chatID, upTo: newest)
        }
    }

    private func waitUntilDelivered(_ chatID: UUID, upTo pts: Int64) async {
        if let delivered = streams[chatID]?.deliveredUpTo, delivered >= pts { return }
        let deadline = ContinuousClock.now + ackPatience
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiters[chatID, default: []].append(Waiter(pts: pts, deadline: deadline, continuation: continuation))
            if patienceTimer == nil {
                patienceTimersStarted += 1
                patienceTimer = Task { await self.releaseOverdueWaiters() }
            }
        }
    }

    /// Sleeps until the earliest waiter's deadline and releases every waiter past its own, until
    /// none is left. One timer for all waiters, not one per message: a timer per send cost a task,
    /// a timer in Dispatch's heap and a hop back to the actor, mostly for waiters released long before.
    private func releaseOverdueWaiters() async {
        while let earliest = waiters.values.lazy.flatMap({ $0 }).map(\.deadline).min() {
            try? await Task.sleep(until: earliest, clock: .continuous)
            let now = ContinuousClock.now
            for (chatID, waiting) in waiters where waiting.contains(where: { $0.deadline <= now }) {
                let left = waiting.filter { $0.deadline > now }
                waiters[chatID] = left.isEmpty ? nil : left
                for waiter in waiting where waiter.deadline <= now { waiter.continuation.resume() }
            }
        }
        patienceTimer = nil
    }

    /// Resumes the waiters whose updates went out.
    private func releaseDelivered(_ chatID: UUID) {
        guard let delivered = streams[chatID]?.deliveredUpTo, let waiting = waiters[chatID] else { return }
        let (done, left) = (waiting.filter { $0.pts <= delivered }, waiting.filter { $0.pts > delivered })
        waiters[chatID] = left.isEmpty ? nil : left
        done.forEach { $0.continuation.resume() }
    }

    /// Positions another node stored.
    func hinted(_ range: StoredRange) {
        logger.trace("stored elsewhere", metadata: ["chat_id": "\(range.stream)", "first": "\(range.first)", "last": "\(range.last)"])
        mutate(range.stream) { $0.hinted.append(range) }
    }

    private func mutate(_ chatID: UUID, _ change: (inout Stream) -> Void) {
        if streams.count >= Self.maxStreams, streams[chatID] == nil {
            let before = streams.count
            streams = streams.filter { $0.value.draining || !$0.value.waiting.isEmpty || !$0.value.hinted.isEmpty }
            if streams.count < before { followingSince = .now() }
        }
        change(&streams[chatID, default: Stream()])
        if !streams[chatID]!.draining {
            streams[chatID]!.draining = true
            Task { await drain(chatID) }
        }
    }

    /// Delivers what can go, reads what must be read, waits out short gaps; returns when nothing
    /// is left to do for the chat.
    private func drain(_ chatID: UUID) async {
        while let stream = streams[chatID] {
            if !stream.started {
                await start(chatID)
                continue
            }
            if let run = nextRun(of: stream) {
                streams[chatID]?.gapSince = nil
                await deliver(run, in: chatID)
                continue
            }
            if !stream.hinted.isEmpty {
                streams[chatID]?.hinted = []
                await read(stream.hinted, in: chatID)
                continue
            }
            guard let delivered = stream.deliveredUpTo, let firstWaiting = stream.waiting.keys.filter({ $0 > delivered }).min() else {
                // Anything left at or below what went out was delivered in its place (read from the log).
                if let delivered = stream.deliveredUpTo { streams[chatID]?.waiting = stream.waiting.filter { $0.key > delivered } }
                break
            }
            // A gap: positions after the next one are here, the next one is not (yet).
            let since = stream.gapSince ?? ContinuousClock.now
            if stream.gapSince == nil { streams[chatID]?.gapSince = since }
            if ContinuousClock.now - since < gapPatience {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            streams[chatID]?.gapSince = nil
            await read([StoredRange(stream: chatID, first: delivered + 1, last: firstWaiting - 1)], in: chatID, fillingGap: true)
        }
        streams[chatID]?.draining = false
    }

    /// Where a new stream starts: updates stored since this node began following chats, before
    /// the first one that arrived, go out first (read from the log). When there are none, or no
    /// device here is in the chat, the stream starts from what arrived.
    private func start(_ chatID: UUID) async {
        streams[chatID]?.started = true
        guard startsFromLog, let stream = streams[chatID], stream.deliveredUpTo == nil,
              let known = (Array(stream.waiting.keys) + stream.hinted.map(\.first)).min(), known > 1 else { return }
        var here: [UUID] = []
        do {
            // Slower tasks of this node and hints on their way get the time a gap gets to arrive:
            // what arrives here keeps the connection it must not be echoed to.
            try? await Task.sleep(for: gapPatience)
            let members = try await delivery.chats.memberIDs(of: chatID)
            here = await delivery.registry.connected(among: members)
            guard !here.isEmpty else { return }
            let earlier = try await updates.chatUpdates(
                of: chatID, at: max(1, known - Self.startWindow)...(known - 1), createdSince: followingSince.adding(.zero - startSlack)
            )
            guard let first = earlier.first?.pts else { return }
            logger.debug("stream starts before its first update", metadata: ["chat_id": "\(chatID)", "from": "\(first)", "first_arrived": "\(known)"])
            let ids = earlier.filter { $0.kind.carriesMessage }.compactMap(\.messageID)
            let messages = try await delivery.messages.find(ids: ids)
            for update in earlier where streams[chatID]?.waiting[update.pts] == nil {
                streams[chatID]?.waiting[update.pts] = Item(update: update, message: update.messageID.flatMap { messages[$0] })
            }
            // Never above anything that arrived meanwhile: each position waiting or hinted goes out.
            // Positions the read did not return (dated earlier by a skewed clock) are a gap, read after `gapPatience`.
            guard let current = streams[chatID], current.deliveredUpTo == nil else { return }
            let lowest = ([first] + Array(current.waiting.keys) + current.hinted.map(\.first)).min()!
            streams[chatID]?.deliveredUpTo = lowest - 1
        } catch {
            // Updates on their way may be taken as passed: the devices here resume from the log instead.
            logger.warning("where a chat's stream starts was not read; its devices here catch up", metadata: [
                "chat_id": "\(chatID)", "error": "\(error)",
            ])
            await delivery.registry.close(users: here, .catchUp)
        }
    }

    /// The waiting updates that go out now: those continuing what went out, or, for a chat not
    /// followed yet with nothing else to read, the first ones waiting.
    private func nextRun(of stream: Stream) -> [Item]? {
        let start: Int64
        if let delivered = stream.deliveredUpTo {
            start = delivered + 1
        } else if stream.hinted.isEmpty, let first = stream.waiting.keys.min() {
            start = first
        } else {
            return nil
        }
        var run: [Item] = []
        var pts = start
        while let item = stream.waiting[pts] {
            run.append(item)
            pts += 1
        }
        return run.isEmpty ? nil : run
    }

    private func deliver(_ run: [Item], in chatID: UUID) async {
        logger.trace("delivering", metadata: ["chat_id": "\(chatID)", "pts": "\(run.map(\.update.pts))"])
        for item in run { streams[chatID]?.waiting[item.update.pts] = nil }
        if let last = run.last?.update.pts { streams[chatID]?.deliveredUpTo = last }
        // Every update of the run is committed: the membership read now is the one each would
        // have read after its own commit. The run's last update may have read it in its own
        // transaction, after every earlier update of the run committed: that is as good, and no read.
        let members: [UUID]? = if let known = run.last?.members { known } else { try? await delivery.chats.memberIDs(of: chatID) }
        guard let members else {
            logger.warning("chat members not read; devices here find the gap at the chat's next update", metadata: ["chat_id": "\(chatID)"])
            releaseDelivered(chatID)
            return
        }
        for item in run {
            await delivery.deliver(
                StoredUpdates(
                    updates: LoggedUpdates(chat: [item.update]), messages: item.message.map { [$0.id: $0] } ?? [:],
                    excludedConnection: item.excludedConnection
                ),
                members: [chatID: members]
            )
        }
        releaseDelivered(chatID)
    }

    /// Reads the positions `ranges` cover from the log, for the devices here. When none of the
    /// chat's members has a device here, nothing is read: the positions are only noted as passed.
    /// When the read fails, the devices concerned catch up by themselves (closed with `catch_up`).
    private func read(_ ranges: [StoredRange], in chatID: UUID, fillingGap: Bool = false) async {
        guard let first = ranges.map(\.first).min(), let last = ranges.map(\.last).max(), first <= last else { return }
        var here: [UUID] = []
        do {
            let members = try await delivery.chats.memberIDs(of: chatID)
            here = await delivery.registry.connected(among: members)
            logger.trace(
                "reading", metadata: ["chat_id": "\(chatID)", "ranges": "\(ranges.map { "\($0.first)-\($0.last)" })", "devices_here": "\(here.count)"]
            )
            guard !here.isEmpty else {
                pass(upTo: last, in: chatID)
                return
            }
            let delivered = streams[chatID]?.deliveredUpTo ?? (first - 1)
            var after = max(first - 1, delivered)
            while after < last {
                let page = try await updates.chatUpdates(of: chatID, after: after, limit: Int(min(500, last - after)))
                guard let newest = page.last?.pts else { break }
                let wanted = page.filter { update in ranges.contains { ($0.first...$0.last).contains(update.pts) } }
                let ids = wanted.filter { $0.kind.carriesMessage }.compactMap(\.messageID)
                let messages = try await delivery.messages.find(ids: ids)
                for update in wanted where streams[chatID]?.waiting[update.pts] == nil {
                    streams[chatID]?.waiting[update.pts] = Item(update: update, message: update.messageID.flatMap { messages[$0] })
                }
                after = newest
            }
            // A gap the log does not fill (pruned meanwhile): go on past it; devices that need it resume.
            if fillingGap, let delivered = streams[chatID]?.deliveredUpTo, streams[chatID]?.waiting[delivered + 1] == nil {
                pass(upTo: last, in: chatID)
            }
            if streams[chatID]?.deliveredUpTo == nil, let lowest = streams[chatID]?.waiting.keys.min() {
                streams[chatID]?.deliveredUpTo = lowest - 1
            }
        } catch {
            logger.warning("chat updates not read; their devices here catch up", metadata: ["chat_id": "\(chatID)", "error": "\(error)"])
            await delivery.registry.close(users: here, .catchUp)
            pass(upTo: last, in: chatID)
        }
    }

    /// Notes positions up to `pts` as passed without delivering them (nobody here needs them, or
    /// the devices here were told to catch up instead).
    private func pass(upTo pts: Int64, in chatID: UUID) {
        guard var stream = streams[chatID] else { return }
        logger.debug("positions passed", metadata: ["chat_id": "\(chatID)", "from": "\(stream.deliveredUpTo.map(String.init) ?? "nil")", "to": "\(pts)"])
        stream.deliveredUpTo = max(stream.deliveredUpTo ?? pts, pts)
        stream.waiting = stream.waiting.filter { $0.key > pts }
        streams[chatID] = stream
        releaseDelivered(chatID)
    }
}

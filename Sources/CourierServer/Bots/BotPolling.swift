import CourierStore
import Foundation
import ServiceLifecycle
import Synchronization

/// The long polls (`getUpdates` with a `timeout`) waiting on this node, one per bot: a second poll
/// of the same bot ends the first with Telegram's 409, so two copies of a bot notice each other
/// instead of splitting its updates. A stored change wakes the waiting polls of the bots it
/// concerns (members of its chat, or the bot itself), which then look for new updates; a poll also
/// looks again every `recheckInterval` for what another node stored. People's button presses wait
/// here for the bot's answer too.
public actor BotPolling: UpdateSubscriber, Service {
    public enum Outcome: Sendable {
        /// Something was stored, or the recheck interval passed: look again.
        case woken
        /// Another `getUpdates` of the same bot took over, or its token was replaced.
        case terminated
        /// The node is shutting down: answer with what there is.
        case closing
    }

    private struct Waiter {
        let ticket: UInt64
        let continuation: CheckedContinuation<Outcome, Never>
    }

    private var waiters: [UUID: Waiter] = [:] {
        didSet { anyWaiting.store(!waiters.isEmpty, ordering: .sequentiallyConsistent) }
    }
    /// Whether any poll waits, read without entering the actor: most stored changes, on a server
    /// whose bots use webhooks or none, then cost no hop here.
    private nonisolated let anyWaiting = Atomic<Bool>(false)
    /// Counts stored changes: a poll that looked at generation N and then waits is woken at once
    /// if a change came in between (it was not waiting yet, so nothing woke it).
    private nonisolated let storedGeneration = Atomic<UInt64>(0)

    /// Read before a poll looks for updates, and handed to `wait`.
    nonisolated func generation() -> UInt64 { storedGeneration.load(ordering: .sequentiallyConsistent) }
    /// The newest poll of each bot, also while it is not waiting (between its looks).
    private var current: [UUID: UInt64] = [:]
    private var nextTicket: UInt64 = 0
    private var closing = false
    private var answerWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    let recheckInterval: Duration
    /// The bots among the members of some chats (read only while polls are waiting).
    let botsIn: @Sendable ([UUID]) async throws -> Set<UUID>
    /// Wakes the webhook sender when something is stored (while some bot has a webhook) or a
    /// webhook is set.
    nonisolated let webhookWakeup = Wakeup()
    /// Whether the webhook sender's last look found a bot with a webhook (true until it looked):
    /// while none has one, a stored change wakes nothing, where it cost a read each. A webhook set
    /// on this node wakes the sender itself; one set on another node is found by its look once a second.
    private nonisolated let someBotHasAWebhook = Atomic<Bool>(true)

    /// What the webhook sender found on its last look.
    nonisolated func webhooksFound(_ any: Bool) { someBotHasAWebhook.store(any, ordering: .relaxed) }

    public init(recheckInterval: Duration = .seconds(1), botsIn: @escaping @Sendable ([UUID]) async throws -> Set<UUID> = { _ in [] }) {
        self.recheckInterval = recheckInterval
        self.botsIn = botsIn
    }

    /// Starts a poll of `botID`, ending the one before it; the ticket names it in `wait` and `end`.
    func begin(_ botID: UUID) -> UInt64 {
        nextTicket += 1
        current[botID] = nextTicket
        if let previous = waiters.removeValue(forKey: botID) { previous.continuation.resume(returning: .terminated) }
        return nextTicket
    }

    /// Waits until something is stored, the recheck interval or `longest` passes, or a newer poll
    /// takes over; at once when something was stored since the poll looked (`generation`).
    func wait(_ botID: UUID, ticket: UInt64, upTo longest: Duration, lookedAt generation: UInt64) async -> Outcome {
        guard !closing else { return .closing }
        guard current[botID] == ticket else { return .terminated }
        guard storedGeneration.load(ordering: .sequentiallyConsistent) == generation else { return .woken }
        let interval = min(recheckInterval, max(.zero, longest))
        return await withCheckedContinuation { continuation in
            waiters[botID] = Waiter(ticket: ticket, continuation: continuation)
            if storedGeneration.load(ordering: .sequentiallyConsistent) != generation {
                wake(botID, ticket: ticket)
                return
            }
            Task { [weak self] in
                try? await Task.sleep(for: interval)
                await self?.wake(botID, ticket: ticket)
            }
        }
    }

    func end(_ botID: UUID, ticket: UInt64) {
        guard current[botID] == ticket else { return }
        current[botID] = nil
        if let waiter = waiters.removeValue(forKey: botID) { waiter.continuation.resume(returning: .woken) }
    }

    /// Ends the bot's poll with 409 (its webhook was set, or its token replaced).
    func endAll(of botID: UUID) {
        current[botID] = nil
        if let waiter = waiters.removeValue(forKey: botID) { waiter.continuation.resume(returning: .terminated) }
    }

    private func wake(_ botID: UUID, ticket: UInt64) {
        guard let waiter = waiters[botID], waiter.ticket == ticket else { return }
        waiters[botID] = nil
        waiter.continuation.resume(returning: .woken)
    }

    /// Wakes the waiting polls of these bots.
    func wake(_ botIDs: Set<UUID>) {
        for botID in botIDs {
            if let waiter = waiters.removeValue(forKey: botID) { waiter.continuation.resume(returning: .woken) }
        }
    }

    public nonisolated func updatesStored(_ stored: StoredUpdates) async {
        // The change is counted before waiters are looked for, and a waiter is registered before it
        // looks at the count again (both sequentially consistent): one of the two sees the other.
        storedGeneration.add(1, ordering: .sequentiallyConsistent)
        if someBotHasAWebhook.load(ordering: .relaxed) { webhookWakeup.signal() }
        guard anyWaiting.load(ordering: .sequentiallyConsistent) else { return }
        await wakeConcerned(chats: Array(Set(stored.updates.chat.map(\.chatID))), accounts: Set(stored.updates.account.map(\.userID)))
    }

    private func wakeConcerned(chats: [UUID], accounts: Set<UUID>) async {
        guard !waiters.isEmpty else { return }
        var concerned = accounts
        if !chats.isEmpty, let members = try? await botsIn(chats) { concerned.formUnion(members) }
        wake(concerned)
    }

    // MARK: Answers to pressed buttons

    /// Waits up to `timeout` for `answered(queryID)`, or returns earlier when the node shuts down.
    func waitForAnswer(_ queryID: String, upTo timeout: Duration) async {
        guard !closing else { return }
        await withCheckedContinuation { continuation in
            answerWaiters[queryID, default: []].append(continuation)
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.answered(queryID)
            }
        }
    }

    /// The bot answered `queryID` on this node: the press waiting for it looks now.
    func answered(_ queryID: String) {
        for waiter in answerWaiters.removeValue(forKey: queryID) ?? [] { waiter.resume() }
    }

    // MARK: Shutdown

    /// Runs until the node shuts down, then ends every waiting poll and press with what there is,
    /// so that none holds the shutdown up.
    public func run() async throws {
        try? await gracefulShutdown()
        closing = true
        for waiter in waiters.values { waiter.continuation.resume(returning: .closing) }
        waiters = [:]
        for continuations in answerWaiters.values { continuations.forEach { $0.resume() } }
        answerWaiters = [:]
    }
}

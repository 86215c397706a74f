import CourierStore
import Foundation

/// The long polls (`getUpdates` with a `timeout`) waiting on this node, one per bot: a second poll
/// of the same bot ends the first with Telegram's 409, so two copies of a bot notice each other
/// instead of splitting its updates. A stored change wakes every waiting poll, which then looks for
/// new updates itself; a poll also looks again every second for what another node stored.
public actor BotPolling: UpdateSubscriber {
    public enum Outcome: Sendable {
        /// Something was stored, or the recheck interval passed: look again.
        case woken
        /// Another `getUpdates` of the same bot took over.
        case terminated
    }

    private struct Waiter {
        let ticket: UInt64
        let continuation: CheckedContinuation<Outcome, Never>
    }

    private var waiters: [UUID: Waiter] = [:]
    /// The newest poll of each bot, also while it is not waiting (between its looks).
    private var current: [UUID: UInt64] = [:]
    private var nextTicket: UInt64 = 0
    let recheckInterval: Duration
    /// Wakes the webhook sender when something is stored.
    nonisolated let webhookWakeup = Wakeup()

    public init(recheckInterval: Duration = .seconds(1)) {
        self.recheckInterval = recheckInterval
    }

    /// Starts a poll of `botID`, ending the one before it; the ticket names it in `wait` and `end`.
    func begin(_ botID: UUID) -> UInt64 {
        nextTicket += 1
        current[botID] = nextTicket
        if let previous = waiters.removeValue(forKey: botID) { previous.continuation.resume(returning: .terminated) }
        return nextTicket
    }

    /// Waits until something is stored, the recheck interval passes, or a newer poll takes over.
    func wait(_ botID: UUID, ticket: UInt64) async -> Outcome {
        guard current[botID] == ticket else { return .terminated }
        let interval = recheckInterval
        return await withCheckedContinuation { continuation in
            waiters[botID] = Waiter(ticket: ticket, continuation: continuation)
            Task { [weak self] in
                try? await Task.sleep(for: interval)
                await self?.wake(botID, ticket: ticket)
            }
        }
    }

    /// Whether the poll is still the bot's newest.
    func isCurrent(_ botID: UUID, ticket: UInt64) -> Bool { current[botID] == ticket }

    func end(_ botID: UUID, ticket: UInt64) {
        guard current[botID] == ticket else { return }
        current[botID] = nil
        if let waiter = waiters.removeValue(forKey: botID) { waiter.continuation.resume(returning: .woken) }
    }

    private func wake(_ botID: UUID, ticket: UInt64) {
        guard let waiter = waiters[botID], waiter.ticket == ticket else { return }
        waiters[botID] = nil
        waiter.continuation.resume(returning: .woken)
    }

    /// Ends the bot's poll, if one is waiting, with 409 (its webhook was just set).
    func endAll(of botID: UUID) {
        current[botID] = nil
        if let waiter = waiters.removeValue(forKey: botID) { waiter.continuation.resume(returning: .terminated) }
    }

    /// Wakes every waiting poll.
    func wakeAll() {
        let woken = waiters
        waiters = [:]
        for waiter in woken.values { waiter.continuation.resume(returning: .woken) }
    }

    public nonisolated func updatesStored(_ stored: StoredUpdates) async {
        webhookWakeup.signal()
        await wakeAll()
    }
}

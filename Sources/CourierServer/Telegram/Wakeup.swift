import Synchronization

/// Wakes one waiting loop early: `signal()` ends the current or next `wait(upTo:)` at once (a signal
/// while nobody waits is kept, once), and `wait` otherwise ends after its timeout.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a signal or after `timeout` (or when the task is cancelled), whichever is first.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let now = self.state.withLock { state -> Bool in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                // Ends the wait above whether the time ran out or the task was cancelled.
                self.signal()
            }
            _ = await group.next()
            group.cancelAll()
        }
        // A timeout's own signal must not wake the next wait.
        state.withLock { $0.pending = false }
    }
}

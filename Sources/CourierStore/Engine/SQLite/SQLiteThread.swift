import DequeModule
import Dispatch
import Foundation
import Synchronization

/// A thread of its own for one SQLite connection, usable as a Swift executor.
///
/// SQLite's calls block (a commit waits for `fsync`), so they must not run on an event loop or in
/// Swift's cooperative pool. Before, each statement was handed to a thread pool and its result
/// handed back: three thread switches per statement, and the kernel's scheduling was half of the
/// server's CPU at load. Here a whole transaction (or read) runs on the connection's thread: the
/// `GroupCommitWriter` actor is isolated to the writer's thread (`SerialExecutor`) and the bodies
/// it runs prefer it (`TaskExecutor`), so the statements of a batch of sends run one after another
/// without leaving the thread. A body that awaits something elsewhere (an actor, the network) comes
/// back to the thread afterwards.
final class SQLiteThread: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private enum Work {
        case job(UnownedJob)
        case call(@Sendable () -> Void)
    }

    private struct State {
        var queue = Deque<Work>()
        var stopping = false
        /// Resumed by the thread when its loop ends.
        var onEnd: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    /// Counts the work enqueued (plus one for `stop`): the thread sleeps on it while idle.
    private let wake = DispatchSemaphore(value: 0)
    /// The thread's identity, for `isCurrent`; set before `init` returns.
    private let identity = Mutex<pthread_t?>(nil)

    /// Starts the thread, named `name` (seen in `top -H` and in profiles).
    init(name: String) {
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            identity.withLock { $0 = pthread_self() }
            // Named from the thread itself: a name given before `start` does not reach the kernel on Linux.
            Thread.current.name = name
            started.signal()
            loop()
        }
        thread.start()
        started.wait()
    }

    /// Whether the caller runs on this thread.
    var isCurrent: Bool {
        guard let own = identity.withLock({ $0 }) else { return false }
        return pthread_equal(own, pthread_self()) != 0
    }

    func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    func checkIsolated() {
        precondition(isCurrent, "expected to run on the SQLite thread")
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Runs `body` on the thread and returns its result: one switch there and one back.
    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            submit(.call { continuation.resume(with: Swift.Result { try body() }) })
        }
    }

    /// Ends the thread once the work already enqueued has run. Nothing may be enqueued afterwards.
    func stop() async {
        await withCheckedContinuation { continuation in
            state.withLock {
                $0.stopping = true
                $0.onEnd = continuation
            }
            wake.signal()
        }
    }

    private func submit(_ work: Work) {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.queue.append(work)
            return true
        }
        // The engine refuses statements before it stops its threads, so this is a bug; work
        // dropped silently would leave its caller waiting forever.
        precondition(accepted, "work was sent to a stopped SQLite thread")
        wake.signal()
    }

    private func loop() {
        while true {
            wake.wait()
            let (work, end) = state.withLock { state -> (Work?, CheckedContinuation<Void, Never>?) in
                if let work = state.queue.popFirst() { return (work, nil) }
                return (nil, state.stopping ? state.onEnd : nil)
            }
            switch work {
            case .job(let job)?:
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            case .call(let call)?:
                call()
            case nil:
                if let end {
                    end.resume()
                    return
                }
            }
        }
    }
}

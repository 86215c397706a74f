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
/// `GroupCommitWriter` actor is isolated to the writer's thread (`serialExecutor`) and the bodies
/// it runs prefer it (`taskExecutor`), so the statements of a batch of sends run one after another
/// without leaving the thread. A body that awaits something elsewhere (an actor, the network) comes
/// back to the thread afterwards.
///
/// The two executors are separate objects on purpose: a task's job run as the serial executor's
/// would count as isolated to it, and every call into nonisolated code (each SQLKit call) would then
/// go back through the queue instead of continuing at once.
final class SQLiteThread: @unchecked Sendable {
    private enum Work {
        case actorJob(UnownedJob)
        case taskJob(UnownedJob)
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

    /// For actors whose state this thread owns (`GroupCommitWriter`).
    private(set) var serialExecutor: ActorExecutor!
    /// For tasks that should run here (`withTaskExecutorPreference`).
    private(set) var taskExecutor: Preference!

    /// Starts the thread, named `name` (seen in `top -H` and in profiles; Linux keeps 15 bytes).
    init(name: String) {
        serialExecutor = nil
        taskExecutor = nil
        serialExecutor = ActorExecutor(thread: self)
        taskExecutor = Preference(thread: self)
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

    /// Runs `body` on the thread and returns its result: one switch there and one back.
    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            submit(.call { continuation.resume(with: Swift.Result { try body() }) })
        }
    }

    /// Ends the thread once the work already enqueued has run. Nothing may be enqueued afterwards
    /// (the engine refuses statements before it stops its threads); stopping again does nothing.
    func stop() async {
        await withCheckedContinuation { continuation in
            let first = state.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.stopping = true
                state.onEnd = continuation
                return true
            }
            if first { wake.signal() } else { continuation.resume() }
        }
    }

    private func submit(_ work: Work) {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.queue.append(work)
            return true
        }
        // A job dropped silently would leave its task waiting forever; the engine's gate makes
        // this unreachable, so reaching it is a bug worth stopping for.
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
            case .actorJob(let job)?:
                job.runSynchronously(isolatedTo: serialExecutor.asUnownedSerialExecutor(), taskExecutor: taskExecutor.asUnownedTaskExecutor())
            case .taskJob(let job)?:
                job.runSynchronously(on: taskExecutor.asUnownedTaskExecutor())
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

    /// The thread as the executor of an actor.
    final class ActorExecutor: SerialExecutor {
        private unowned let thread: SQLiteThread

        fileprivate init(thread: SQLiteThread) { self.thread = thread }

        func enqueue(_ job: consuming ExecutorJob) { thread.submit(.actorJob(UnownedJob(job))) }

        func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

        func isIsolatingCurrentContext() -> Bool? { thread.isCurrent }

        func checkIsolated() { precondition(thread.isCurrent, "expected to run on the SQLite thread") }
    }

    /// The thread as a task's preferred executor.
    final class Preference: TaskExecutor {
        private unowned let thread: SQLiteThread

        fileprivate init(thread: SQLiteThread) { self.thread = thread }

        func enqueue(_ job: consuming ExecutorJob) { thread.submit(.taskJob(UnownedJob(job))) }
    }
}

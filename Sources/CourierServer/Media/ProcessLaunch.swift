import Foundation
import Synchronization

/// Starts child processes one at a time. Foundation's `Process.run()` on Linux is not safe to call
/// from several threads at once (a test run crashed inside it, in `memcpy`, while media jobs and
/// fixtures launched tools in parallel); the launch itself takes microseconds, so taking turns
/// costs nothing that matters, and the processes still run side by side.
public enum ProcessLaunch {
    private static let turn = Mutex(())

    /// Starts `process` (as `process.run()` does), after any launch under way elsewhere.
    public static func run(_ process: Process) throws {
        try turn.withLock { _ in try process.run() }
    }

    /// Starts `process` and returns its exit status once it has ended, without holding a thread
    /// meanwhile (a blocking `waitUntilExit` takes one of the few threads Swift's tasks share).
    /// `started` runs once the process runs, with its pid, before anything else can happen to it.
    public static func runToEnd(_ process: Process, started: (Int32) -> Void = { _ in }) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try run(process)
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            started(process.processIdentifier)
        }
    }
}

import Synchronization

/// `operation` took longer than its deadline.
struct DeadlineExceeded: Error, CustomStringConvertible {
    let duration: Duration
    var description: String { "no answer within \(duration)" }
}

/// Runs `operation` and gives up after `duration`, also when the operation ignores cancellation
/// (a query on a database connection that died without closing): it is cancelled and left to
/// finish in the background, its result dropped.
func withDeadline<T: Sendable>(_ duration: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let waiter = OnceContinuation<T>()
    return try await withCheckedThrowingContinuation { continuation in
        waiter.set(continuation)
        let work = Task {
            do { waiter.resume(with: .success(try await operation())) } catch { waiter.resume(with: .failure(error)) }
        }
        Task {
            try? await Task.sleep(for: duration)
            if waiter.resume(with: .failure(DeadlineExceeded(duration: duration))) { work.cancel() }
        }
    }
}

/// A continuation resumed once, by whichever comes first.
private final class OnceContinuation<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    /// Resumes it unless it was already; returns whether this call did.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        guard let continuation = continuation.withLock({ $0.take() }) else { return false }
        continuation.resume(with: result)
        return true
    }
}

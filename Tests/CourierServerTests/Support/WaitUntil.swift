import Testing

/// Waits until `condition` holds, checking every 20 ms; fails the test (by throwing) with `what`
/// when it still does not after `seconds`.
func waitUntil(
    _ what: String, seconds: Double = 10, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            try #require(Bool(false), "timed out after \(seconds) s waiting for \(what)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Whether `work` finishes within `limit`. Unlike a task group racing a sleep, which waits for
/// every child before it returns, this returns when the time is up even if `work` hangs for good
/// (it is cancelled and left behind), so a test that would hang fails instead.
func finishes(within limit: Duration, _ work: @escaping @Sendable () async -> Void) async -> Bool {
    let (outcomes, outcome) = AsyncStream.makeStream(of: Bool.self)
    let worker = Task {
        await work()
        outcome.yield(true)
    }
    let timer = Task {
        try? await Task.sleep(for: limit)
        outcome.yield(false)
    }
    for await finished in outcomes {
        timer.cancel()
        if !finished { worker.cancel() }
        return finished
    }
    return false
}

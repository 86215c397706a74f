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

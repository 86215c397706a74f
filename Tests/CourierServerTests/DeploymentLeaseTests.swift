import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import CourierServer

/// Once-per-deployment jobs run on one node at a time and move to another when it stops.
@Suite("Deployment-wide jobs")
struct DeploymentLeaseTests {
    /// A job that records which node ran it, until it is cancelled.
    struct RecordingJob: Service {
        let node: String
        let runs: Runs

        func run() async throws {
            runs.started(node)
            defer { runs.stopped(node) }
            while !Task.isCancelled { try await Task.sleep(for: .milliseconds(20)) }
        }
    }

    final class Runs: Sendable {
        private let state = Mutex((running: Set<String>(), ever: [String](), mostAtOnce: 0))
        func started(_ node: String) {
            state.withLock {
                $0.running.insert(node)
                $0.ever.append(node)
                $0.mostAtOnce = max($0.mostAtOnce, $0.running.count)
            }
        }
        func stopped(_ node: String) { state.withLock { _ = $0.running.remove(node) } }
        var running: Set<String> { state.withLock { $0.running } }
        var mostAtOnce: Int { state.withLock { $0.mostAtOnce } }
    }

    @Test(arguments: TestEngine.all)
    func oneNodeAtATimeWithFailover(engine: TestEngine) async throws {
        try await engine.withStore { store in
            let runs = Runs()
            func lease(_ node: String) -> DeploymentLease {
                DeploymentLease(engine: store.engine, services: [RecordingJob(node: node, runs: runs)], retry: .milliseconds(100), logger: TestEngine.logger)
            }
            let first = Task { try await lease("a").run() }
            try await eventually { runs.running == ["a"] }
            guard engine == .postgres else {
                first.cancel()
                return
            }
            // A second node waits while the first holds the jobs.
            let second = Task { try await lease("b").run() }
            try await Task.sleep(for: .milliseconds(400))
            #expect(runs.running == ["a"])
            // The first stops: the second takes over.
            first.cancel()
            try await eventually { runs.running == ["b"] }
            #expect(runs.mostAtOnce == 1)
            second.cancel()
            _ = await second.result
        }
    }

    func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

import Foundation
import Histogram

/// `courier bench login`: sign-up and sign-in throughput. bcrypt (cost 12 by default) is meant to
/// be slow, so this measures what the hashing costs the server, not the framework.
public struct LoginBenchmark: Sendable {
    public struct Settings: Sendable, Codable {
        public var users = 100
        public var concurrency = 8

        public init() {}
    }

    public struct Phase: Sendable, Codable {
        public let count: Int
        public let seconds: Double
        public let perSecond: Double
        public let latency: Percentiles
    }

    public struct Result: Sendable, Codable {
        public let register: Phase
        public let login: Phase
    }

    let target: BenchTarget
    let settings: Settings
    let log: @Sendable (String) -> Void

    public init(target: BenchTarget, settings: Settings, log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.target = target
        self.settings = settings
        self.log = log
    }

    public func run() async throws -> Result {
        let accounts = BenchAccounts()
        let target = self.target
        log("login: signing up \(settings.users) users, \(settings.concurrency) at a time…")
        let register = try await measure(settings.users) { index in
            _ = try await target.register(index, of: accounts)
        }
        log("login: signing in \(settings.users) times…")
        let login = try await measure(settings.users) { index in
            _ = try await target.client.login(username: accounts.username(index), password: BenchAccounts.password)
        }
        return Result(register: register, login: login)
    }

    private func measure(_ count: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> Phase {
        let started = MonotonicClock.nanoseconds()
        let latencies = try await concurrentMap(0..<count, concurrency: settings.concurrency) { index in
            let begin = MonotonicClock.nanoseconds()
            try await operation(index)
            return (MonotonicClock.nanoseconds() - begin) / 1000
        }
        let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
        return Phase(count: count, seconds: seconds, perSecond: Double(count) / seconds, latency: Percentiles(microsecondSamples: latencies))
    }
}

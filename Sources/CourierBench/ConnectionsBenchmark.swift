import Foundation
import NIOCore
import NIOPosix

/// `courier bench connections`: opens N idle authenticated WebSockets and reports how much memory
/// the server holds per connection and how long opening them took.
public struct ConnectionsBenchmark: Sendable {
    public struct Settings: Sendable, Codable {
        public var connections = 10_000
        /// Accounts the connections are spread over (a person may have many devices).
        public var users = 100
        /// The server's process id; when nil, the process listening on the target's port.
        public var serverPID: Int32?
        public var threads = 2
        /// Loopback addresses the connections come from (127.0.0.1, 127.0.0.2, …): one address has
        /// about 28,000 ports for one server port, so 50,000 connections need two.
        public var sourceAddresses = 1

        public init() {}
    }

    public struct Result: Sendable, Codable {
        public let connections: Int
        public let openSeconds: Double
        public let connectionsPerSecond: Double
        public let serverPID: Int32
        public let rssBeforeBytes: Int
        public let rssAfterBytes: Int
        public let rssPerConnectionBytes: Double
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
        guard (1...254).contains(settings.sourceAddresses) else { throw BenchError("--source-addresses is 1 to 254.") }
        guard let pid = settings.serverPID ?? LinuxProcess.listener(onPort: target.port) else {
            throw BenchError("Cannot find the server's process; pass --server-pid.")
        }
        let userCount = max(1, min(settings.users, settings.connections))
        log("connections: signing up \(userCount) users…")
        let users = try await target.registerUsers(count: userCount, concurrency: 16)
        try await Task.sleep(for: .milliseconds(500))
        let before = try LinuxProcess.residentBytes(of: pid)

        let loops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, settings.threads))
        let tallies = loops.makeIterator().map { ($0, LoopTally()) }
        log("connections: opening \(settings.connections) WebSockets…")
        let started = ContinuousClock.now
        let target = self.target
        let sockets = try await concurrentMap(0..<settings.connections, concurrency: 64) { index in
            let (loop, tally) = tallies[index % tallies.count]
            let source = settings.sourceAddresses > 1 ? "127.0.0.\(1 + index % settings.sourceAddresses)" : nil
            return try await BenchSocket.connect(
                host: target.host, port: target.port, token: users[index % users.count].token, on: loop, tally: tally, from: source
            )
        }
        let elapsed = ContinuousClock.now - started
        // Give the server a moment to settle (presence fan-out of the new connections).
        try await Task.sleep(for: .seconds(2))
        let after = try LinuxProcess.residentBytes(of: pid)
        for socket in sockets { await socket.close() }
        try await loops.shutdownGracefully()

        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(
            connections: settings.connections, openSeconds: seconds, connectionsPerSecond: Double(settings.connections) / seconds,
            serverPID: pid, rssBeforeBytes: before, rssAfterBytes: after,
            rssPerConnectionBytes: Double(after - before) / Double(settings.connections)
        )
    }
}

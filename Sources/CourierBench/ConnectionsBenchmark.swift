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
        guard let pid = settings.serverPID ?? ProcessMemory.listener(onPort: target.port) else {
            throw BenchError("Cannot find the server's process; pass --server-pid.")
        }
        let userCount = max(1, min(settings.users, settings.connections))
        log("connections: signing up \(userCount) users…")
        let users = try await target.registerUsers(count: userCount, prefix: "bench\(BenchTarget.runTag())", concurrency: 16)
        try await Task.sleep(for: .milliseconds(500))
        let before = try ProcessMemory.residentBytes(of: pid)

        let loops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, settings.threads))
        let tallies = loops.makeIterator().map { ($0, LoopTally()) }
        log("connections: opening \(settings.connections) WebSockets…")
        let started = ContinuousClock.now
        let target = self.target
        let sockets = try await concurrentMap(0..<settings.connections, concurrency: 64) { index in
            let (loop, tally) = tallies[index % tallies.count]
            return try await BenchSocket.connect(
                host: target.host, port: target.port, token: users[index % users.count].token, on: loop, tally: tally
            )
        }
        let elapsed = ContinuousClock.now - started
        // Give the server a moment to settle (presence fan-out of the new connections).
        try await Task.sleep(for: .seconds(2))
        let after = try ProcessMemory.residentBytes(of: pid)
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

/// Reading a process's memory from `/proc` (Linux).
enum ProcessMemory {
    /// Resident set size in bytes (`VmRSS`).
    static func residentBytes(of pid: Int32) throws -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw BenchError("Cannot read the memory of process \(pid) (/proc/\(pid)/status).") }
        return kilobytes * 1024
    }

    /// User plus system CPU time the process has used, in seconds.
    static func cpuSeconds(of pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ", options: .backwards)
        else { return nil }
        // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The process listening on TCP `port` on this machine: the server under test.
    static func listener(onPort port: Int) -> Int32? {
        let hexPort = String(format: ":%04X", port)
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // local_address is field 1, st (0A = LISTEN) field 3, inode field 9.
                guard fields.count > 9, fields[1].hasSuffix(hexPort), fields[3] == "0A" else { continue }
                inodes.insert("socket:[\(fields[9])]")
            }
        }
        guard !inodes.isEmpty else { return nil }
        let processes = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
        for pid in processes {
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            for descriptor in descriptors {
                if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)"),
                   inodes.contains(link) {
                    return pid
                }
            }
        }
        return nil
    }
}

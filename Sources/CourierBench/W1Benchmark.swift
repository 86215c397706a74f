import Foundation
import Histogram
import NIOCore
import NIOPosix

/// `courier bench w1`: group fan-out. Users in groups, all connected by WebSocket; senders send
/// open-loop at a total rate, and every other member of the group must receive each message.
public struct W1Benchmark: Sendable {
    public struct Settings: Sendable, Codable {
        public var users = 1000
        public var groupSize = 10
        /// Messages per second, over all senders.
        public var rate = 1000
        public var warmupSeconds = 3.0
        public var durationSeconds = 10.0
        /// How long to wait for messages still in flight after sending stops.
        public var drainSeconds = 5.0
        /// Raise the rate by `rampStep` while a step passes, up to `rampMax`.
        public var ramp = false
        public var rampStep = 500
        public var rampMax = 20_000
        /// Event loops of the generator.
        public var threads = 2

        public init() {}
    }

    /// One rate's outcome.
    public struct Step: Sendable, Codable {
        public let rate: Int
        public let sent: Int
        public let expected: Int
        public let delivered: Int
        /// Copies beyond the first to a recipient, or to the sender itself.
        public let duplicates: Int
        public let acked: Int
        public let failedAcks: Int
        public let closedByServer: Int
        public let deliveredRatio: Double
        public let deliveriesPerSecond: Double
        public let delivery: Percentiles
        /// Delivery p99 (ms) of the messages meant to go in each second of the run, in order: a
        /// stall shows here even when the whole run's p99 hides it.
        public let deliveryP99BySecond: [Double]
        public let ack: Percentiles
        /// The server's CPU time per message sent (warm-up included), when its process is on this machine.
        public let serverCPUMicrosecondsPerMessage: Double?
        /// The server's CPU use over the step, in cores (1.0 = one core busy).
        public let serverCores: Double?

        /// The bar a rate must clear to count as sustainable.
        public var sustainable: Bool { deliveredRatio >= 0.999 && delivery.p99 <= 100 && failedAcks == 0 }
    }

    public struct Result: Sendable, Codable {
        public let steps: [Step]
        /// The highest rate that was sustainable (ramp), or nil.
        public let maxSustainableRate: Int?
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
        guard settings.groupSize >= 2, settings.users >= settings.groupSize else {
            throw BenchError("w1 needs groups of at least 2 and at least one full group of users.")
        }
        guard settings.rate >= settings.threads, settings.threads >= 1, settings.durationSeconds > 0, settings.warmupSeconds >= 0 else {
            throw BenchError("w1 needs a rate of at least one message a second per thread, and a duration above zero.")
        }
        let target = self.target
        let settings = self.settings
        let groups = settings.users / settings.groupSize
        let users = groups * settings.groupSize
        let accounts = BenchAccounts()
        log("w1: signing up \(users) users…")
        let signedUp = try await target.registerUsers(count: users, of: accounts, concurrency: 16)
        log("w1: creating \(groups) groups of \(settings.groupSize)…")
        let chatIDs = try await concurrentMap(0..<groups, concurrency: 16) { group in
            let members = signedUp[(group * settings.groupSize)..<((group + 1) * settings.groupSize)]
            return try await target.client.createGroup(
                named: "\(accounts.prefix) group \(group)", members: members.dropFirst().map(\.id), token: members.first!.token
            )
        }

        let loops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, settings.threads))
        let drivers = loops.makeIterator().map { LoadDriver(eventLoop: $0) }
        log("w1: connecting \(users) WebSockets…")
        let sockets = try await concurrentMap(0..<users, concurrency: 64) { index in
            let driver = drivers[index % drivers.count]
            let socket = try await BenchSocket.connect(
                host: target.host, port: target.port, token: signedUp[index].token, on: driver.eventLoop, tally: driver.tally, user: index
            )
            return (index, socket)
        }
        for (index, socket) in sockets {
            let driver = drivers[index % drivers.count]
            try await driver.eventLoop.submit { driver.senders.append((socket, index, chatIDs[index / settings.groupSize])) }.get()
        }
        // Let membership and presence frames of the set-up pass before measuring.
        try await Task.sleep(for: .seconds(1))

        var steps: [Step] = []
        var rate = settings.rate
        var best: Int?
        while true {
            let step = try await runStep(rate: rate, drivers: drivers, chatIDs: chatIDs)
            steps.append(step)
            log(Self.describe(step))
            guard settings.ramp else { break }
            if step.sustainable { best = rate } else { break }
            rate += settings.rampStep
            if rate > settings.rampMax { break }
        }
        for (_, socket) in sockets { await socket.close() }
        try await loops.shutdownGracefully()
        return Result(steps: steps, maxSustainableRate: settings.ramp ? best : (steps.first?.sustainable == true ? steps.first?.rate : nil))
    }

    private func runStep(rate: Int, drivers: [LoadDriver], chatIDs: [String]) async throws -> Step {
        let serverPID = LinuxProcess.listener(onPort: target.port)
        let cpuBefore = serverPID.flatMap(LinuxProcess.cpuSeconds(of:))
        let wallBefore = MonotonicClock.nanoseconds()
        let start = MonotonicClock.nanoseconds() + 50_000_000
        let warmupEnd = start + UInt64(settings.warmupSeconds * 1e9)
        let end = warmupEnd + UInt64(settings.durationSeconds * 1e9)
        let perLoop = Double(rate) / Double(drivers.count)
        for driver in drivers {
            try await driver.eventLoop.submit {
                driver.tally.measureFrom = warmupEnd
                driver.start(rate: perLoop, start: start, measureFrom: warmupEnd, end: end)
            }.get()
        }
        try await Task.sleep(for: .seconds(settings.warmupSeconds + settings.durationSeconds))
        // Every message due before the end must be out before `sent` is read, however busy the loops are.
        while try await !drivers.allSatisfyAsync({ driver in try await driver.eventLoop.submit { driver.finished }.get() }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let sent = try await drivers.asyncSum { driver in try await driver.eventLoop.submit { driver.measuredSent }.get() }
        let expected = sent * (settings.groupSize - 1)
        // Wait for what is still on its way, but no longer than the drain time.
        let drainUntil = ContinuousClock.now + .seconds(settings.drainSeconds)
        var snapshot = try await Self.collect(drivers)
        while (snapshot.delivered < expected || snapshot.acked + snapshot.failedAcks < sent), ContinuousClock.now < drainUntil {
            try await Task.sleep(for: .milliseconds(100))
            snapshot = try await Self.collect(drivers)
        }
        let issued = try await drivers.asyncSum { driver in try await driver.eventLoop.submit { driver.issued }.get() }
        var sentMessages: [BenchMessage] = []
        for driver in drivers { sentMessages += try await driver.eventLoop.submit { driver.measuredMessages }.get() }
        reportMissing(sent: sentMessages, received: snapshot.received, chatIDs: chatIDs)
        var cpu: Double?
        if let before = cpuBefore, let pid = serverPID, let after = LinuxProcess.cpuSeconds(of: pid) { cpu = after - before }
        let wall = Double(MonotonicClock.nanoseconds() - wallBefore) / 1e9
        for driver in drivers { try await driver.eventLoop.submit { driver.tally.reset() }.get() }
        return Step(
            rate: rate, sent: sent, expected: expected, delivered: snapshot.delivered,
            duplicates: snapshot.duplicates, acked: snapshot.acked,
            failedAcks: snapshot.failedAcks, closedByServer: snapshot.closedByServer,
            deliveredRatio: expected == 0 ? 0 : Double(snapshot.delivered) / Double(expected),
            deliveriesPerSecond: Double(snapshot.delivered) / settings.durationSeconds,
            delivery: Percentiles(microseconds: snapshot.deliveries),
            deliveryP99BySecond: (0..<Int(settings.durationSeconds.rounded(.up))).map { second in
                snapshot.deliveriesBySecond[second].map { Percentiles(microseconds: $0).p99 } ?? 0
            },
            ack: Percentiles(microseconds: snapshot.acks),
            serverCPUMicrosecondsPerMessage: cpu.map { $0 * 1e6 / Double(max(1, issued)) }, serverCores: cpu.map { $0 / wall }
        )
    }

    /// Logs which recipients never received which messages (the first few), so that a loss can be
    /// looked up in the servers' logs and database.
    private func reportMissing(sent: [BenchMessage], received: Set<BenchDelivery>, chatIDs: [String]) {
        var missing: [BenchDelivery] = []
        for message in sent {
            let group = message.sender / settings.groupSize
            for recipient in (group * settings.groupSize)..<((group + 1) * settings.groupSize) where recipient != message.sender {
                let delivery = BenchDelivery(message: message, recipient: recipient)
                if !received.contains(delivery) { missing.append(delivery) }
            }
        }
        guard !missing.isEmpty else { return }
        log("w1: \(missing.count) deliveries missing; the first:")
        for delivery in missing.sorted(by: { $0.message.intended < $1.message.intended }).prefix(20) {
            let group = delivery.message.sender / settings.groupSize
            log("  content t=\(delivery.message.intended);s=\(delivery.message.sender) in chat \(chatIDs[group]) not received by user \(delivery.recipient)")
        }
    }

    static func collect(_ drivers: [LoadDriver]) async throws -> TallySnapshot {
        var merged: TallySnapshot?
        for driver in drivers {
            let snapshot = try await driver.eventLoop.submit { TallySnapshot(driver.tally) }.get()
            if merged == nil { merged = snapshot } else { merged!.merge(snapshot) }
        }
        return merged!
    }

    static func describe(_ step: Step) -> String {
        let delivered = String(format: "%.3f", step.deliveredRatio * 100)
        let cpu = step.serverCPUMicrosecondsPerMessage.map { "server \($0.whole) µs CPU/message" } ?? "server CPU not measured"
        return "w1: rate \(step.rate)/s: sent \(step.sent), delivered \(step.delivered)/\(step.expected) (\(delivered)%), \(step.duplicates) duplicates, "
            + "\(step.deliveriesPerSecond.whole) deliveries/s, delivery p50 \(step.delivery.p50.ms) p95 \(step.delivery.p95.ms) "
            + "p99 \(step.delivery.p99.ms) max \(step.delivery.max.ms) ms, ack p50 \(step.ack.p50.ms) p99 \(step.ack.p99.ms) ms, \(cpu)"
            + (step.sustainable ? "" : " (not sustainable)")
            + "\n  delivery p99 by second (ms): " + step.deliveryP99BySecond.map { $0.ms }.joined(separator: " ")
    }
}

/// Sends one event loop's share of the load, open-loop: on each 1 ms tick it sends every message
/// whose intended time has come, whatever the server has answered so far.
final class LoadDriver: @unchecked Sendable {
    let eventLoop: any EventLoop
    let tally = LoopTally()
    var senders: [(socket: BenchSocket, user: Int, chatID: String)] = []
    private(set) var measuredSent = 0
    /// The measured messages sent in this step.
    private(set) var measuredMessages: [BenchMessage] = []
    /// Whether the current step has sent everything due before its end.
    private(set) var finished = false
    private var task: RepeatedTask?
    /// Messages sent in this step, warm-up included.
    private(set) var issued = 0
    private var nextSender = 0

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Starts sending `rate` messages a second from `start`; those intended at or after
    /// `measureFrom` are measured; sending stops at `end`. Call on the loop.
    func start(rate: Double, start: UInt64, measureFrom: UInt64, end: UInt64) {
        task?.cancel()
        issued = 0
        measuredSent = 0
        measuredMessages = []
        finished = false
        let interval = 1e9 / rate
        task = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { [self] task in
            let now = MonotonicClock.nanoseconds()
            guard !senders.isEmpty else {
                finished = true
                task.cancel()
                return
            }
            while true {
                let intended = start + UInt64(Double(issued) * interval)
                guard intended <= now else { break }
                guard intended < end else {
                    finished = true
                    task.cancel()
                    return
                }
                let sender = senders[nextSender]
                nextSender = (nextSender + 1) % senders.count
                let measured = intended >= measureFrom
                let tag = measured ? "t" : "w"
                let idPrefix = measured ? "b" : "w"
                sender.socket.send(
                    #"{"type":"message","chat_id":"\#(sender.chatID)","content":"\#(tag)=\#(intended);s=\#(sender.user)","client_msg_id":"\#(idPrefix)\#(intended)-\#(issued)"}"#
                )
                issued += 1
                if measured {
                    measuredSent += 1
                    measuredMessages.append(BenchMessage(sender: sender.user, intended: intended))
                }
            }
        }
    }
}

extension Array {
    func allSatisfyAsync(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await !predicate(element) { return false }
        return true
    }

    func asyncSum(_ value: (Element) async throws -> Int) async rethrows -> Int {
        var total = 0
        for element in self { total += try await value(element) }
        return total
    }
}

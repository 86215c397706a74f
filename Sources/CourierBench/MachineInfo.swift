import Foundation

/// The machine a benchmark ran on, so numbers are never read without their context.
public struct MachineInfo: Sendable, Codable {
    public let cores: Int
    public let memoryBytes: UInt64
    /// 1, 5 and 15 minute load averages.
    public let loadAverage: [Double]
    public let system: String

    public static func current() -> MachineInfo {
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).compactMap { Double($0) } ?? []
        return MachineInfo(
            cores: ProcessInfo.processInfo.activeProcessorCount, memoryBytes: ProcessInfo.processInfo.physicalMemory,
            loadAverage: load, system: ProcessInfo.processInfo.operatingSystemVersionString
        )
    }
}

/// What a benchmark run writes as JSON: when, where, against which engine, with which settings.
public struct BenchReport<Settings: Codable & Sendable, Result: Codable & Sendable>: Sendable, Codable {
    public let mode: String
    public let date: Date
    public let server: String
    public let engine: String
    public let machineBefore: MachineInfo
    public let machineAfter: MachineInfo
    public let settings: Settings
    public let result: Result

    public init(mode: String, server: String, engine: String, machineBefore: MachineInfo, settings: Settings, result: Result) {
        self.mode = mode
        self.date = Date()
        self.server = server
        self.engine = engine
        self.machineBefore = machineBefore
        self.machineAfter = .current()
        self.settings = settings
        self.result = result
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}

/// A plain text table for the terminal.
public struct TextTable: Sendable {
    public let header: [String]
    public let rows: [[String]]

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    public var rendered: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}

extension Double {
    /// Two decimals, for milliseconds.
    var ms: String { String(format: "%.2f", self) }
    /// No decimals, for rates.
    var whole: String { String(format: "%.0f", self) }
}

extension W1Benchmark.Result {
    public var table: TextTable {
        TextTable(
            header: ["rate/s", "sent", "delivered", "ratio %", "deliveries/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "ack p50", "ack p99", "server µs/msg", "ok"],
            rows: steps.map { step in
                [
                    "\(step.rate)", "\(step.sent)", "\(step.delivered)/\(step.expected)", String(format: "%.3f", step.deliveredRatio * 100),
                    step.deliveriesPerSecond.whole, step.delivery.p50.ms, step.delivery.p95.ms, step.delivery.p99.ms,
                    step.delivery.max.ms, step.ack.p50.ms, step.ack.p99.ms,
                    step.serverCPUMicrosecondsPerMessage.map(\.whole) ?? "-", step.sustainable ? "yes" : "no",
                ]
            }
        )
    }
}

extension ConnectionsBenchmark.Result {
    public var table: TextTable {
        TextTable(
            header: ["connections", "open s", "conn/s", "RSS before MB", "RSS after MB", "KB/connection"],
            rows: [[
                "\(connections)", String(format: "%.2f", openSeconds), connectionsPerSecond.whole,
                String(format: "%.1f", Double(rssBeforeBytes) / 1_048_576), String(format: "%.1f", Double(rssAfterBytes) / 1_048_576),
                String(format: "%.1f", rssPerConnectionBytes / 1024),
            ]]
        )
    }
}

extension HistoryBenchmark.Result {
    public var table: TextTable {
        let median = rounds.count > 1 ? rounds.sorted { $0.cursor.p95 < $1.cursor.p95 }[rounds.count / 2] : nil
        return TextTable(
            header: ["round", "paging", "messages", "pages", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            rows: rounds.enumerated().flatMap { index, round in
                let name = "\(index + 1)" + (median.map { $0.cursor.p95 == round.cursor.p95 ? " (median)" : "" } ?? "")
                return [("offset", round.offset), ("cursor", round.cursor)].map { paging, latency in
                    [name, paging, "\(messages)", "\(latency.count)", latency.p50.ms, latency.p95.ms, latency.p99.ms, latency.max.ms]
                }
            }
        )
    }
}

extension LoginBenchmark.Result {
    public var table: TextTable {
        TextTable(
            header: ["phase", "count", "seconds", "per second", "p50 ms", "p99 ms"],
            rows: [("register", register), ("login", login)].map { name, phase in
                [name, "\(phase.count)", String(format: "%.2f", phase.seconds), String(format: "%.1f", phase.perSecond),
                 phase.latency.p50.ms, phase.latency.p99.ms]
            }
        )
    }
}

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

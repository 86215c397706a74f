import Foundation

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

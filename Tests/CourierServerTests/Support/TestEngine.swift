import CourierCore
import CourierStore
import Foundation
import Logging
import Testing

/// The database engines every storage and API test runs on.
///
/// SQLite always; PostgreSQL when `COURIER_TEST_DATABASE_URL` names a server (`scripts/test` starts
/// one and sets it). Each test gets a database of its own: a new SQLite file, or a new PostgreSQL
/// schema that is dropped afterwards.
enum TestEngine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static let postgresURL = ProcessInfo.processInfo.environment["COURIER_TEST_DATABASE_URL"].flatMap(PostgresURL.init)

    static var all: [TestEngine] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    static let logger: Logger = {
        var logger = Logger(label: "courier-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a migrated, empty store of this engine, and removes it afterwards.
    func withStore<T: Sendable>(_ body: (Store) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let folder = try TemporaryFolder()
            let engine = try await SQLiteEngine.open(path: folder.path + "/courier.sqlite", logger: Self.logger)
            return try await Self.run(engine, body)
        case .postgres:
            let url = try #require(Self.postgresURL)
            let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let admin = try await PostgresEngine.connect(url: url, maxConnections: 1, logger: Self.logger)
            try await admin.write { try await $0.raw("CREATE SCHEMA \(unsafeRaw: schema)").run() }
            do {
                let engine = try await PostgresEngine.connect(url: url, maxConnections: 4, searchPath: schema, logger: Self.logger)
                let result = try await Self.run(engine, body)
                try await admin.write { try await $0.raw("DROP SCHEMA \(unsafeRaw: schema) CASCADE").run() }
                try await admin.close()
                return result
            } catch {
                try? await admin.write { try await $0.raw("DROP SCHEMA \(unsafeRaw: schema) CASCADE").run() }
                try? await admin.close()
                throw error
            }
        }
    }

    private static func run<T: Sendable>(_ engine: any DatabaseEngine, _ body: (Store) async throws -> T) async throws -> T {
        do {
            try await Migrator(engine: engine).migrate(logger: logger)
            let result = try await body(Store(engine: engine))
            try await engine.close()
            return result
        } catch {
            try? await engine.close()
            throw error
        }
    }
}

/// A folder under the system's temporary folder, removed when the value is released.
final class TemporaryFolder: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "courier-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

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

    /// Where a test database lives, for tests that look at its files or dump it.
    struct Location: Sendable {
        /// The SQLite file, or nil on PostgreSQL.
        let sqlitePath: String?
        /// The PostgreSQL schema, or nil on SQLite.
        let schema: String?
        /// The master key file of the store.
        let keyFile: String
    }

    /// Runs `body` with a migrated, empty store of this engine, and removes it afterwards.
    func withStore<T: Sendable>(_ body: (Store) async throws -> T) async throws -> T {
        try await withDatabase { store, _ in try await body(store) }
    }

    /// Like `withStore`, also telling where the data and the key file are. `wrapping` may put a
    /// decorator (`StatementCountingEngine`) between the store and the engine.
    func withDatabase<T: Sendable>(
        wrapping wrap: (any DatabaseEngine) -> any DatabaseEngine = { $0 }, _ body: (Store, Location) async throws -> T
    ) async throws -> T {
        switch self {
        case .sqlite:
            let folder = try TemporaryFolder()
            let path = folder.path + "/courier.sqlite"
            let engine = try await SQLiteEngine.open(path: path, logger: Self.logger)
            return try await Self.run(wrap(engine), sqlitePath: path, schema: nil, body)
        case .postgres:
            let url = try #require(Self.postgresURL)
            let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let admin = try await PostgresEngine.connect(url: url, maxConnections: 1, logger: Self.logger)
            try await admin.write { try await $0.raw("CREATE SCHEMA \(unsafeRaw: schema)").run() }
            do {
                let engine = try await PostgresEngine.connect(url: url, maxConnections: 4, searchPath: schema, logger: Self.logger)
                let result = try await Self.run(wrap(engine), sqlitePath: nil, schema: schema, body)
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

    private static func run<T: Sendable>(
        _ engine: any DatabaseEngine, sqlitePath: String?, schema: String?, _ body: (Store, Location) async throws -> T
    ) async throws -> T {
        let keys = try TemporaryFolder()
        let keyFile = keys.path + "/master.key"
        do {
            try await Migrator(engine: engine).migrate(logger: logger)
            let keyring = try await Keyring.open(keyFile: keyFile, engine: engine)
            let store = Store(engine: engine, keyring: keyring, auditAnchorPath: keys.path + "/audit-anchor")
            let result = try await body(store, Location(sqlitePath: sqlitePath, schema: schema, keyFile: keyFile))
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

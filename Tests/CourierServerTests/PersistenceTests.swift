import CourierServer
import CourierStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("Restarts and configuration")
struct PersistenceTests {
    /// Runs a real server (live HTTP) twice over the same data folder: accounts, sessions and the
    /// generated JWT secret survive the restart.
    @Test func accountsAndTokensSurviveARestart() async throws {
        let folder = try TemporaryFolder()
        var configuration = ServerConfiguration(dataDirectory: folder.path, bcryptCost: 4)
        configuration.port = 0

        let alice = try await Self.withServer(configuration) { api in try await api.register(username: "alice_1") }
        let secretPath = folder.path + "/jwt-secret"
        let attributes = try FileManager.default.attributesOfItem(atPath: secretPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        try await Self.withServer(configuration) { api in
            #expect(try await api.send(.get, "/api/v1/users/me", token: alice.token).status == .ok)
            let login = try await api.send(.post, "/api/v1/auth/login", json: ["username": "alice_1", "password": "correct horse battery"])
            #expect(login.status == .ok)
            #expect(try await api.send(.post, "/api/v1/auth/refresh", json: ["refresh_token": alice.refreshToken]).status == .ok)
        }
    }

    @Test func migrationsAreAppliedOnce() async throws {
        for engine in TestEngine.all {
            try await engine.withStore { store in
                let migrator = Migrator(engine: store.engine)
                #expect(try await migrator.migrate(logger: TestEngine.logger).isEmpty)
                #expect(try await migrator.appliedVersions() == Schema.migrations.map(\.version))
                for table in ["users", "sessions", "refresh_tokens", "chats", "chat_members", "messages", "channels",
                              "subscriptions", "payment_logs", "message_references"] {
                    _ = try await store.engine.read { try await $0.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first() }
                }
            }
        }
    }

    @Test func passwordsAreHashedWithBcryptCost12ByDefault() async throws {
        let hasher = try await PasswordHasher(cost: ServerConfiguration().bcryptCost)
        let hash = try await hasher.hash(try .init("correct horse"))
        #expect(hash.hasPrefix("$2b$12$") || hash.hasPrefix("$2a$12$") || hash.hasPrefix("$2y$12$"))
        #expect(try await hasher.verify("correct horse", against: hash))
        #expect(try await !hasher.verify("wrong horse", against: hash))
        #expect(try await !hasher.verify("correct horse", against: nil))
    }

    @Test func configurationComesFromFlagsThenEnvironment() throws {
        let environment = [
            "COURIER_HOST": "0.0.0.0", "COURIER_PORT": "9000", "COURIER_DATA_DIR": "/var/lib/courier",
            "DATABASE_URL": "postgres://courier:secret@db:5432/courier", "LOG_LEVEL": "DEBUG",
        ]
        let fromEnvironment = try ServerConfiguration.resolve(environment: environment)
        #expect(fromEnvironment.host == "0.0.0.0")
        #expect(fromEnvironment.port == 9000)
        #expect(fromEnvironment.dataDirectory == "/var/lib/courier")
        #expect(fromEnvironment.logLevel == .debug)
        #expect(fromEnvironment.publicURL == "http://0.0.0.0:9000")
        #expect(fromEnvironment.bcryptCost == 12)

        let withFlags = try ServerConfiguration.resolve(environment: environment, host: "127.0.0.1", port: 8081, dataDirectory: "/tmp/x")
        #expect(withFlags.host == "127.0.0.1")
        #expect(withFlags.port == 8081)
        #expect(withFlags.dataDirectory == "/tmp/x")

        let defaults = try ServerConfiguration.resolve(environment: [:])
        #expect(defaults.host == "127.0.0.1")
        #expect(defaults.port == 8080)
        #expect(defaults.dataDirectory == "./data")
        #expect(defaults.databaseURL == nil)

        #expect(throws: ConfigurationError.self) { try ServerConfiguration.resolve(environment: ["COURIER_PORT": "eighty"]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.resolve(environment: ["JWT_SECRET": "short"]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.resolve(environment: ["LOG_LEVEL": "loud"]) }
    }

    @Test func postgresURLsAreParsed() throws {
        let url = try #require(PostgresURL("postgres://courier:p%40ss@db.local:6543/messages?sslmode=require"))
        #expect(url.host == "db.local")
        #expect(url.port == 6543)
        #expect(url.username == "courier")
        #expect(url.password == "p@ss")
        #expect(url.database == "messages")
        #expect(url.sslMode == .require)
        #expect(PostgresURL("mysql://x@y/z") == nil)
        #expect(PostgresURL("postgres://x@y/z?sslmode=bogus") == nil)
        #expect(PostgresURL("postgresql://db/courier")?.username == "postgres")
    }

    /// Starts `courier`'s real application on a free port, runs `body` against it over HTTP, stops it.
    static func withServer<T: Sendable>(
        _ configuration: ServerConfiguration, _ body: @Sendable (APIClient) async throws -> T
    ) async throws -> T {
        let store = try await openStore(configuration: configuration, logger: TestEngine.logger)
        do {
            let app = try await buildApplication(configuration: configuration, store: store, logger: TestEngine.logger)
            let result = try await app.test(.live) { client in try await body(APIClient(client: client)) }
            try await store.engine.close()
            return result
        } catch {
            try? await store.engine.close()
            throw error
        }
    }
}

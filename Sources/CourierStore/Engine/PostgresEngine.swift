import Logging
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit

/// PostgreSQL through PostgresNIO's connection pool, for deployments that outgrow one file or run
/// several `courier` nodes.
///
/// The engine owns the pool's run loop: it starts with `connect` and ends with `close`, so servers,
/// CLI commands and tests all manage it the same way.
public final class PostgresEngine: DatabaseEngine {
    public let kind = SQLEngineKind.postgres
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger

    private init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.runTask = Task { await client.run() }
    }

    /// Connects to the database a `postgres://` URL names.
    ///
    /// - Parameters:
    ///   - searchPath: a schema to use instead of `public` (the tests give each test its own).
    public static func connect(
        url: PostgresURL, maxConnections: Int = 20, searchPath: String? = nil, logger: Logger
    ) async throws -> PostgresEngine {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password,
            database: url.database, tls: try url.tls()
        )
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 0
        configuration.options.connectionIdleTimeout = .seconds(60)
        if let searchPath {
            configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        }
        let engine = PostgresEngine(client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger)
        return engine
    }

    public func read<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    public func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(connection.sql(queryLogLevel: nil))
            }
        } catch let error as PostgresTransactionError {
            // Callers see what their body threw (a domain error, a constraint violation), as on SQLite.
            if let rollbackError = error.rollbackError {
                logger.error("rollback failed", metadata: ["error": "\(String(reflecting: rollbackError))"])
            }
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
    }

    public func writeOneStatement<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    public func close() async throws {
        runTask.cancel()
        await runTask.value
    }
}

extension PostgresURL {
    func tls() throws -> PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }
}

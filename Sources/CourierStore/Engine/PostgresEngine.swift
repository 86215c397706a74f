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
        // The pool keeps all its connections open and runs no keep-alive query of its own: it
        // schedules and cancels a timer (a task and a dispatch timer) for each of those every time
        // a connection is given back, which was most of a history page's cost on a quiet server.
        // PostgreSQL probes idle connections itself instead (TCP keep-alives every 60 s, which also
        // keep a firewall's or NAT's state of them), and a closed connection is replaced as before.
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = maxConnections
        configuration.options.keepAliveBehavior = nil
        // No JIT: PostgreSQL compiles a query whose estimated cost passes `jit_above_cost`, and a
        // history page by offset in a chat of a million messages (whose bound the planner cannot
        // see) did: 13–30 ms of compiling for a page read in 0.3 ms. Courier's queries are short.
        configuration.options.additionalStartupParameters = [
            ("tcp_keepalives_idle", "60"), ("tcp_keepalives_interval", "10"), ("tcp_keepalives_count", "6"), ("jit", "off"),
        ] + (searchPath.map { [("search_path", $0)] } ?? [])
        let engine = PostgresEngine(client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger)
        return engine
    }

    public func read<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await client.withConnection { connection in
            try await body(PostgresSQLConnection(connection))
        }
    }

    public func write<Result: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(PostgresSQLConnection(connection))
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
            try await body(PostgresSQLConnection(connection))
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

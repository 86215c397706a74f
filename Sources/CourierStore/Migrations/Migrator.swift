import CourierCore
import Logging
import SQLKit

/// Brings a database to the newest schema version.
///
/// Safe to run from several nodes at once on PostgreSQL: each step takes a transaction-scoped
/// advisory lock and re-checks whether another node applied it first.
public struct Migrator: Sendable {
    public let engine: any DatabaseEngine
    public let migrations: [Migration]

    public init(engine: any DatabaseEngine, migrations: [Migration] = Schema.migrations) {
        self.engine = engine
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies every migration not yet applied and returns the versions it applied.
    @discardableResult
    public func migrate(logger: Logger) async throws -> [Int] {
        try await engine.write { sql in
            try await sql.raw("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )
                """).run()
        }
        var applied: [Int] = []
        let types = ColumnTypes(engine: engine.kind)
        let kind = engine.kind
        for migration in migrations {
            let didApply = try await engine.write { sql in
                if kind == .postgres {
                    try await AdvisoryLock.migrations.acquireForTransaction(sql)
                }
                let done = try await sql.raw("SELECT 1 AS present FROM schema_migrations WHERE version = \(bind: migration.version)").first()
                if done != nil { return false }
                for statement in migration.statements(types) {
                    try await sql.raw(SQLQueryString(statement)).run()
                }
                try await sql.raw("""
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Timestamp.now().milliseconds))
                    """).run()
                return true
            }
            if didApply {
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                applied.append(migration.version)
            }
        }
        return applied
    }

    /// The versions recorded as applied.
    public func appliedVersions() async throws -> [Int] {
        try await engine.read { sql in
            try await sql.raw("SELECT version FROM schema_migrations ORDER BY version").all()
                .map { try $0.decode(column: "version", as: Int.self) }
        }
    }
}

import CourierStore
import Foundation
import Logging
import SQLKit

/// The database a backup copies, and how to reach it from outside the server process.
public enum BackupDatabase: Sendable {
    /// The embedded SQLite database.
    case sqlite(any DatabaseEngine)
    /// PostgreSQL: the engine for the snapshot's transaction, the URL for `pg_dump`, and the schema
    /// when it is not `public` (the tests give each test its own).
    case postgres(any DatabaseEngine, url: PostgresURL, schema: String?)

    var engineName: String {
        switch self {
        case .sqlite: return "sqlite"
        case .postgres: return "postgres"
        }
    }
}

/// A consistent copy of a running database, taken without stopping writers.
///
/// SQLite: `VACUUM INTO` a new file (one read transaction, so one point in time), whose counts and
/// media are then read from the copy itself. PostgreSQL: a repeatable-read transaction exports its
/// snapshot, `pg_dump --snapshot` dumps exactly that, and the counts and media are read in the same
/// transaction. Either way the archive's media list and database agree to the row.
struct DatabaseSnapshot {
    /// The copy on disk (a SQLite file or a `pg_dump` custom-format archive) and its archive path.
    let file: String
    let archivePath: String
    let contents: BackupContents

    /// How long `pg_dump` may run.
    static let dumpTimeLimit: Duration = .seconds(6 * 3600)

    static func take(of database: BackupDatabase, into folder: String, logger: Logger) async throws -> DatabaseSnapshot {
        switch database {
        case .sqlite(let engine):
            let file = folder + "/courier.sqlite"
            try await engine.read { try await $0.raw("VACUUM INTO \(bind: file)").run() }
            let copy = try await SQLiteEngine.open(path: file, readerCount: 1, logger: logger)
            let contents: BackupContents
            do {
                contents = try await copy.read { try await BackupContents.read($0) }
                try await copy.close()
            } catch {
                try? await copy.close()
                throw error
            }
            return DatabaseSnapshot(file: file, archivePath: BackupLayout.sqliteDatabase, contents: contents)
        case .postgres(let engine, let url, let schema):
            let file = folder + "/postgres.dump"
            let contents = try await engine.read { sql in
                try await sql.raw("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").run()
                do {
                    guard let snapshot = try await sql.raw("SELECT pg_export_snapshot() AS id").first()?.decode(column: "id", as: String.self) else {
                        throw BackupError("PostgreSQL did not export a snapshot.")
                    }
                    let contents = try await BackupContents.read(sql)
                    var arguments = ["--format=custom", "--no-owner", "--no-privileges", "--snapshot=\(snapshot)", "--file=\(file)"]
                    if let schema { arguments.append("--schema=\(schema)") }
                    try await PostgresTool.command("pg_dump", url: url, arguments: arguments, folder: folder, timeLimit: dumpTimeLimit).run()
                    try await sql.raw("COMMIT").run()
                    return contents
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
            }
            return DatabaseSnapshot(file: file, archivePath: BackupLayout.postgresDump, contents: contents)
        }
    }
}

/// PostgreSQL's own tools (`pg_dump`, `pg_restore`, Debian's `postgresql-client`), connected the way
/// the server is, with the password passed in their environment, never on a command line.
enum PostgresTool {
    static func command(_ tool: String, url: PostgresURL, arguments: [String], folder: String, timeLimit: Duration) -> ExternalCommand {
        var command = ExternalCommand(
            executable: tool,
            arguments: ["--host=\(url.host)", "--port=\(url.port)", "--username=\(url.username)", "--dbname=\(url.database ?? url.username)", "--no-password"]
                + arguments
        )
        command.timeLimit = timeLimit
        command.folder = URL(fileURLWithPath: folder)
        // As strict as the server's own connections: `require` verifies the certificate and the
        // host name there, which libpq calls `verify-full` (its `require` only encrypts).
        switch url.sslMode {
        case .disable: command.environment["PGSSLMODE"] = "disable"
        case .prefer: command.environment["PGSSLMODE"] = "prefer"
        case .require:
            command.environment["PGSSLMODE"] = "verify-full"
            command.environment["PGSSLROOTCERT"] = "/etc/ssl/certs/ca-certificates.crt"
        }
        if let password = url.password { command.environment["PGPASSWORD"] = password }
        return command
    }
}

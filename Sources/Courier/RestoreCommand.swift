import ArgumentParser
import CourierServer
import CourierStore
import Foundation

/// `courier restore --in FILE --data-dir DIR`: a backup into an empty data folder (and, for a
/// PostgreSQL backup, the empty database DATABASE_URL names).
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup archive into an empty data folder (and empty PostgreSQL database).",
        discussion: "The archive is checked whole before anything is written. Start `courier serve` with the same settings afterwards."
    )
    @OptionGroup var options: ServerOptions
    @OptionGroup var secret: BackupSecretOptions
    @Option(name: .customLong("in"), help: "The archive to restore.")
    var input: String
    @Flag(help: "Overwrite a data folder or database that is not empty.")
    var force = false

    func run() async throws {
        let configuration = try options.configuration()
        let logger = bootstrapLogging(level: .warning)
        let database: BackupRestorer.Database
        if let url = configuration.databaseURL {
            guard let parsed = PostgresURL(url) else { throw ValidationError("DATABASE_URL is not a postgres:// URL.") }
            database = .postgres(url: parsed, schema: nil)
        } else {
            database = .sqlite
        }
        let target = BackupRestorer.Target(
            dataDirectory: configuration.dataDirectory, masterKeyPath: configuration.masterKeyPath, database: database,
            blobs: try await openBlobStore(configuration: configuration), overwrite: force
        )
        let manifest = try await BackupRestorer(logger: logger).restore(input, secret: try secret.resolve(), into: target, progress: .terminal)
        printSummary(manifest)
    }
}

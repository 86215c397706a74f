import ArgumentParser
import CourierServer
import CourierStore
import Foundation

/// `courier backup --out FILE` and `courier backup verify FILE`.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Take an encrypted online backup, or check one.",
        subcommands: [Create.self, Verify.self], defaultSubcommand: Create.self
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Back up the database, media, secrets and master key while the server runs.",
            discussion: """
                The archive is encrypted with --key-file (32 random bytes in base64: head -c 32 /dev/urandom | base64) \
                or a passphrase (--passphrase-file, or COURIER_BACKUP_PASSPHRASE). Keep that key apart from the archive: \
                the archive holds the master key, so the two together open everything.
                """
        )
        @OptionGroup var options: ServerOptions
        @OptionGroup var secret: BackupSecretOptions
        @Option(name: .customLong("out"), help: "The archive to write (must not exist).")
        var output: String

        func run() async throws {
            let configuration = try options.configuration()
            let secret = try self.secret.resolve()
            let logger = bootstrapLogging(level: .warning)
            let store = try await openStore(configuration: configuration, logger: logger, migrating: false)
            do {
                let database: BackupDatabase
                if let url = configuration.databaseURL {
                    guard let parsed = PostgresURL(url) else { throw ValidationError("DATABASE_URL is not a postgres:// URL.") }
                    database = .postgres(store.engine, url: parsed, schema: nil)
                } else {
                    database = .sqlite(store.engine)
                }
                let maker = BackupMaker(source: .init(
                    database: database, dataDirectory: configuration.dataDirectory, masterKeyPath: configuration.masterKeyPath,
                    blobs: try await openBlobStore(configuration: configuration)
                ), logger: logger)
                let manifest = try await maker.backup(to: output, secret: secret, progress: .terminal)
                try await store.audit.append(.init(action: "backup_created", details: [
                    "messages": String(manifest.counts["messages"] ?? 0), "media_chunks": String(manifest.media.chunks),
                ]))
                try await store.engine.close()
                printSummary(manifest)
            } catch {
                try? await store.engine.close()
                throw error
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read a whole archive and check every frame and hash.")
        @OptionGroup var secret: BackupSecretOptions
        @Argument(help: "The archive.")
        var archive: String

        func run() async throws {
            let logger = bootstrapLogging(level: .warning)
            let manifest = try await BackupRestorer(logger: logger).verify(archive, secret: try secret.resolve(), progress: .terminal)
            printSummary(manifest)
        }
    }
}

/// How a backup's key is given: a key file or a passphrase (in a file or the environment), never
/// on the command line where other users see it.
struct BackupSecretOptions: ParsableArguments {
    @Option(name: .customLong("key-file"), help: "A file with 32 random bytes in base64.")
    var keyFile: String?

    @Option(name: .customLong("passphrase-file"), help: "A file whose first line is the passphrase (- for standard input).")
    var passphraseFile: String?

    /// The secret; a missing or doubled option is a usage error, an unreadable file a plain one.
    func resolve() throws -> BackupSecret {
        switch (keyFile, passphraseFile, ProcessInfo.processInfo.environment["COURIER_BACKUP_PASSPHRASE"]) {
        case (let key?, nil, _): return try .keyFile(at: key)
        case (nil, let file?, _): return try .passphraseFile(at: file)
        case (nil, nil, let text?) where !text.isEmpty: return try .fromPassphrase(text)
        case (nil, nil, _): throw ValidationError("Give --key-file, --passphrase-file or COURIER_BACKUP_PASSPHRASE.")
        default: throw ValidationError("Give either --key-file or --passphrase-file, not both.")
        }
    }
}

func printSummary(_ manifest: BackupManifest) {
    let created = Date(timeIntervalSince1970: Double(manifest.createdAt) / 1000)
    print("Backup of \(created) (\(manifest.engine), schema version \(manifest.schemaVersion)):")
    for (table, count) in manifest.counts.sorted(by: { $0.key < $1.key }) { print("  \(table): \(count)") }
    print("  media chunks: \(manifest.media.chunks) (\(manifest.media.bytes) bytes)" + (manifest.media.missingChunks > 0 ? ", \(manifest.media.missingChunks) deleted meanwhile" : ""))
    for entry in manifest.entries { print("  \(entry.path): \(entry.size) bytes, sha256 \(entry.sha256)") }
}

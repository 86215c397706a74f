import ArgumentParser
import CourierServer
import CourierStore

/// `courier migrate`: brings the database schema up to date and exits (`serve` does this too).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.configuration()
        let logger = bootstrapLogging(level: configuration.logLevel)
        let folderLock = try useDataFolder(configuration)
        defer { withExtendedLifetime(folderLock) {} }
        let store = try await openStore(configuration: configuration, logger: logger)
        let versions = try await Migrator(engine: store.engine).appliedVersions()
        try await store.engine.close()
        print("Schema is at version \(versions.last ?? 0) (\(store.engine.kind.rawValue)).")
    }
}

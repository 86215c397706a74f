import ArgumentParser
import CourierServer
import Hummingbird
import ServiceLifecycle

/// `courier serve`: migrates the database, then serves until SIGINT or SIGTERM, finishing the
/// requests in flight before it exits.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the Courier server.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.configuration()
        let logger = bootstrapLogging(level: configuration.logLevel)
        let openFiles = OpenFileLimit.raiseToMaximum()
        if openFiles >= 0, openFiles < configuration.maxConnections + 64 {
            logger.warning("the open-file limit is below the connection limit", metadata: [
                "open_file_limit": "\(openFiles)", "max_connections": "\(configuration.maxConnections)",
            ])
        }
        let store = try await openStore(configuration: configuration, logger: logger)
        do {
            let app = try await buildApplication(configuration: configuration, store: store, logger: logger)
            logger.info("courier is starting", metadata: [
                "address": "\(configuration.host):\(configuration.port)",
                "database": "\(store.engine.kind.rawValue)",
                "public_url": "\(configuration.publicURL)",
            ])
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            try? await store.engine.close()
            throw error
        }
        try await store.engine.close()
        logger.info("courier stopped")
    }
}

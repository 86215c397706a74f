import ArgumentParser
import CourierServer
import Hummingbird
import ServiceLifecycle

/// `courier serve`: migrates the database, then serves until SIGINT or SIGTERM, draining its
/// WebSockets and finishing the requests in flight before it exits.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the Courier server.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let configuration = try options.configuration()
        var logger = bootstrapLogging(level: configuration.logLevel)
        logger[metadataKey: "node"] = "\(configuration.nodeID)"
        let openFiles = OpenFileLimit.raiseToMaximum()
        if openFiles >= 0, openFiles < configuration.maxConnections + 64 {
            logger.warning("the open-file limit is below the connection limit", metadata: [
                "open_file_limit": "\(openFiles)", "max_connections": "\(configuration.maxConnections)",
            ])
        }
        // Held for as long as this node runs, from before it migrates: `courier restore` refuses a
        // folder a server uses.
        let folderLock = try useDataFolder(configuration)
        defer { withExtendedLifetime(folderLock) {} }
        let store = try await openStore(configuration: configuration, logger: logger)
        // A killed backup or restore may have left a copy of the database in its work folder.
        DataFolderLock.removeAbandonedWorkFolders(in: configuration.dataDirectory)
        do {
            let node = try await buildNode(configuration: configuration, store: store, logger: logger)
            logger.info("courier is starting", metadata: [
                "address": "\(configuration.host):\(configuration.port)",
                "database": "\(store.engine.kind.rawValue)",
                "public_url": "\(configuration.publicURL)",
            ])
            try await node.run()
        } catch {
            try? await store.engine.close()
            throw error
        }
        try await store.engine.close()
        logger.info("courier stopped")
    }
}

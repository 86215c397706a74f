import ArgumentParser
import CourierServer
import Foundation
import Logging

/// Flags shared by the commands that open the server's data; each overrides its environment variable.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (COURIER_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (COURIER_PORT, default 8080).")
    var port: Int?

    @Option(name: .customLong("data-dir"), help: "Folder for the database, secrets and media (COURIER_DATA_DIR, default ./data).")
    var dataDirectory: String?

    @Option(name: .customLong("public-url"), help: "Address people use to reach this server (COURIER_PUBLIC_URL).")
    var publicURL: String?

    @Option(name: .customLong("master-key-file"), help: "The master key file (COURIER_MASTER_KEY_FILE, default <data-dir>/master.key).")
    var masterKeyFile: String?

    @Option(name: .customLong("max-connections"), help: "WebSocket connections this node holds at most (COURIER_MAX_CONNECTIONS, default 500).")
    var maxConnections: Int?

    func configuration() throws -> ServerConfiguration {
        do {
            return try ServerConfiguration.resolve(
                environment: ProcessInfo.processInfo.environment,
                host: host, port: port, dataDirectory: dataDirectory, publicURL: publicURL, maxConnections: maxConnections,
                masterKeyFile: masterKeyFile
            )
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Sends logs as JSON lines to standard output, at the configured level.
func bootstrapLogging(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    var logger = Logger(label: "courier")
    logger.logLevel = level
    return logger
}

import ArgumentParser
import CourierServer
import CourierStore

/// `courier keys status|rotate`: the master key versions and their rotation.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Show or rotate the master encryption key.",
        subcommands: [Status.self, Rotate.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List master key versions and the data keys each wraps.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let configuration = try options.configuration()
            let logger = bootstrapLogging(level: .warning)
            let store = try await openStore(configuration: configuration, logger: logger)
            let status = try await KeyRotation.status(keyFile: configuration.masterKeyPath, engine: store.engine)
            try await store.engine.close()
            print("Master key file: \(configuration.masterKeyPath)")
            for version in status.versions {
                let marker = version.version == status.current ? " (current)" : ""
                print("  version \(version.version)\(marker), created \(version.createdAt): wraps \(version.dataKeys) data keys")
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a master key version and re-wrap every data key with it (content is not re-encrypted).",
            discussion: "Older versions stay in the key file so that older backups stay readable. Running servers on this machine notice the changed key file and use the new version at once; copy the file to the other machines of a deployment right away."
        )
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let configuration = try options.configuration()
            let folderLock = try useDataFolder(configuration)
            defer { withExtendedLifetime(folderLock) {} }
            let logger = bootstrapLogging(level: .warning)
            let store = try await openStore(configuration: configuration, logger: logger)
            let result = try await KeyRotation.rotate(keyFile: configuration.masterKeyPath, engine: store.engine)
            try await store.audit.append(.init(
                action: "key_rotation", details: ["master_version": String(result.version), "data_keys": String(result.rewrapped)]
            ))
            try await store.engine.close()
            print("Master key version \(result.version) is current; \(result.rewrapped) data keys re-wrapped. Back up \(configuration.masterKeyPath) now.")
        }
    }
}

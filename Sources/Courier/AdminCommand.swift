import ArgumentParser
import CourierCore
import CourierServer
import CourierStore

/// `courier admin grant|revoke --username …`: server administrators (who see the whole audit log).
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Grant or revoke server administration.", subcommands: [Grant.self, Revoke.self]
    )

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an account a server administrator.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The account's username.") var username: String

        func run() async throws { try await AdminCommand.set(username, admin: true, options) }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take server administration back.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The account's username.") var username: String

        func run() async throws { try await AdminCommand.set(username, admin: false, options) }
    }

    static func set(_ username: String, admin: Bool, _ options: ServerOptions) async throws {
        let name = try Username(username)
        let store = try await openStore(configuration: try options.configuration(), logger: bootstrapLogging(level: .warning))
        let id = try await store.users.setServerAdmin(name, admin)
        if let id {
            try await store.audit.append(.init(action: admin ? "admin_granted" : "admin_revoked", subjectID: id, details: ["by": "cli"]))
        }
        try await store.engine.close()
        guard id != nil else { throw ValidationError("No account named \(name).") }
        print(admin ? "\(name) is now a server administrator." : "\(name) is no longer a server administrator.")
    }
}

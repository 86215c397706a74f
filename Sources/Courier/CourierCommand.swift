import ArgumentParser

/// `courier`: the messenger server and its administration commands.
@main
struct CourierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "courier",
        abstract: "Courier: a self-hosted messenger server.",
        subcommands: [ServeCommand.self, MigrateCommand.self, KeysCommand.self, BackupCommand.self, RestoreCommand.self, AuditCommand.self, AdminCommand.self, BotsCommand.self, ChatCommand.self, BenchCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

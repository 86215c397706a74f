import ArgumentParser
import NIOCore
import NIOPosix

/// `courier`: the messenger server and its administration commands.
struct CourierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "courier",
        abstract: "Courier: a self-hosted messenger server.",
        subcommands: [ServeCommand.self, MigrateCommand.self, KeysCommand.self, BackupCommand.self, RestoreCommand.self, AuditCommand.self, AdminCommand.self, BotsCommand.self, ChatCommand.self, BenchCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

/// The entry point: sets up the allocator, hands Swift's tasks to NIO's event loops, then runs
/// the command.
@main
enum CourierMain {
    static func main() async {
        AllocatorTuning.apply()
        // Without this, Swift's tasks run on a pool of their own threads and every step between a
        // socket's event loop and a task (a request's handler, a delivery's write) is a thread switch
        // with a futex wake-up. With NIO's loops as the global executor, a task resumed from a loop
        // runs on a loop. It must happen before any task is started, so here and nowhere else.
        if !NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() {
            let warning = "courier: NIO's event loops could not become Swift's executor; tasks run on their own threads\n"
            _ = warning.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
        await CourierCommand.main()
    }
}

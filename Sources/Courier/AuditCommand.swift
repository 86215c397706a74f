import ArgumentParser
import CourierServer
import CourierStore

/// `courier audit verify`: checks that no audit entry was changed, removed or reordered.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Check the security audit log.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recompute the hash chain of the audit log; exits 1 when it is broken.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let configuration = try options.configuration()
            let store = try await openStore(configuration: configuration, logger: bootstrapLogging(level: .warning))
            let result = try await store.audit.verify()
            try await store.engine.close()
            if let broken = result.firstBrokenSeq {
                print("The audit log is broken at entry \(broken): entries from there on were changed, removed or reordered.")
                throw ExitCode(1)
            }
            print("The audit log is intact: \(result.entries) entries.")
        }
    }
}

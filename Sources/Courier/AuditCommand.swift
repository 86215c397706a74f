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
            // Only reads: an old schema is refused, never migrated, and nothing is sealed.
            let store = try await openStore(configuration: configuration, logger: bootstrapLogging(level: .warning), migrating: false)
            let result = try await store.audit.verify()
            try await store.engine.close()
            for line in Self.report(result) { print(line) }
            if !result.isIntact { throw ExitCode(1) }
        }

        /// What the check found, for the operator.
        static func report(_ result: AuditStore.Verification) -> [String] {
            var lines: [String] = []
            if let broken = result.firstBrokenSeq {
                lines.append("The audit log is broken at entry \(broken): entries from there on were changed, removed, reordered or sealed without the key.")
            }
            switch result.anchor {
            case .matches(let seq):
                if result.firstBrokenSeq == nil { lines.append("The audit log is intact: \(result.entries) entries, and entry \(seq) named by this node's anchor is there.") }
            case .mismatch(let seq):
                lines.append("The audit log does not hold entry \(seq) as this node's anchor recorded it: its newest entries were removed, or it was replaced by another copy.")
            case .forged:
                lines.append("The audit anchor file was changed: its seal does not match.")
            case .missing, .notKept:
                if result.firstBrokenSeq == nil {
                    lines.append("The audit log is intact: \(result.entries) entries. This node has no anchor, so removal of the newest entries cannot be checked here.")
                }
            }
            return lines
        }
    }
}

import CourierServer
import Foundation

/// What a tool printed, waited for without holding a thread (`ProcessLaunch.runToEnd`).
///
/// The suite's tasks share as many threads as the machine has cores (two here). A blocking
/// `waitUntilExit` or a read to the end of a pipe takes one of them for as long as the tool runs,
/// and if the tool waits in turn on something the suite's tasks must do first (a `pg_dump` behind
/// a lock a test's transaction holds), nothing moves any more.
enum ChildProcess {
    /// Runs `process` with its standard output in a private temporary file (no pipe to drain while
    /// waiting) and returns what it printed and its exit status.
    static func output(of process: Process) async throws -> (status: Int32, output: Data) {
        let folder = try TemporaryFolder()
        let path = folder.path + "/stdout"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown)
        }
        process.standardOutput = handle
        let status = try await ProcessLaunch.runToEnd(process)
        try handle.close()
        return (status, try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

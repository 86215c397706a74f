import Foundation
import Synchronization

/// Runs a tool (`vips`, `ffmpeg`, `ffprobe`) as a child process without blocking a thread while
/// it runs, killed when it overruns its time limit. Output is captured up to a bound: a tool that
/// prints more does not grow the server's memory.
struct ExternalCommand: Sendable {
    let executable: String
    let arguments: [String]
    var timeLimit: Duration = .seconds(30)
    var outputLimit = 256 * 1024

    struct Failure: Error, CustomStringConvertible {
        let tool: String
        let reason: String
        var description: String { "\(tool): \(reason)" }
    }

    /// Runs the command and returns what it printed; throws when it cannot start, exits with a
    /// non-zero status or runs out of time.
    @discardableResult
    func run() async throws -> Data {
        guard let path = Self.locate(executable) else { throw Failure(tool: executable, reason: "not installed (see the README's requirements)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        // A small, fixed environment: nothing of the server's (secrets may be in it) reaches a tool.
        process.environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "VIPS_CONCURRENCY": "1", "LC_ALL": "C"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        let collected = Mutex((out: Data(), err: Data()))
        let limit = outputLimit
        output.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            collected.withLock { if $0.out.count < limit { $0.out.append(chunk.prefix(limit - $0.out.count)) } }
        }
        errors.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            collected.withLock { if $0.err.count < 4096 { $0.err.append(chunk.prefix(4096 - $0.err.count)) } }
        }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: Failure(tool: executable, reason: "could not start: \(error)"))
                return
            }
            let pid = process.processIdentifier
            let limit = timeLimit
            Task.detached {
                try? await Task.sleep(for: limit)
                if process.isRunning { kill(pid, SIGKILL) }
            }
        }
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        let rest = (try? output.fileHandleForReading.readToEnd()) ?? nil
        let result = collected.withLock { state -> (Data, Data) in
            if let rest, state.out.count < limit { state.out.append(rest.prefix(limit - state.out.count)) }
            return (state.out, state.err)
        }
        guard process.terminationReason == .exit, status == 0 else {
            let reason = process.terminationReason == .uncaughtSignal ? "stopped (time limit \(timeLimit) or crash)" : "exit status \(status)"
            throw Failure(tool: executable, reason: "\(reason): \(String(decoding: result.1, as: UTF8.self).prefix(300))")
        }
        return result.0
    }

    /// The tool's path on `PATH`, nil when it is not installed.
    static func locate(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in (path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]) {
            let candidate = folder + "/" + tool
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

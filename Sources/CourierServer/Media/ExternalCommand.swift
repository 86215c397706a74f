import CourierCore
import Foundation
import Synchronization

/// Runs a tool (`vips`, `ffmpeg`, `ffprobe`) as a child process without blocking a thread while
/// it runs, killed when it overruns its time limit.
///
/// Its output goes to private temporary files, read (up to a bound) once it has exited: no pipes,
/// so a tool that prints a lot can neither stall on a full pipe nor grow the server's memory, and
/// no readability handlers racing the process's end (Foundation's pipe handlers on Linux crashed
/// the server under concurrent jobs).
struct ExternalCommand: Sendable {
    let executable: String
    let arguments: [String]
    var timeLimit: Duration = .seconds(30)
    var outputLimit = 256 * 1024
    /// The job's private folder: the tool's temporary files and its captured output go there, and
    /// nowhere else on disk (nil: the system's temporary folder, for tools that see no content).
    var folder: URL?
    /// Settings the tool needs (a database password), added to its small fixed environment.
    var environment: [String: String] = [:]

    struct Failure: Error, CustomStringConvertible {
        let tool: String
        let reason: String
        var isMissingTool = false
        var description: String { "\(tool): \(reason)" }
    }

    /// Runs the command and returns what it printed; throws when it cannot start, exits with a
    /// non-zero status or runs out of time.
    @discardableResult
    func run() async throws -> Data {
        guard let path = Self.locate(executable) else {
            throw Failure(tool: executable, reason: "not installed (see the README's requirements)", isMissingTool: true)
        }
        let temporary = folder?.path ?? NSTemporaryDirectory()
        let base = (temporary as NSString).appendingPathComponent("courier-tool-" + UUID.random().lowercasedString)
        let outputPath = base + ".out", errorPath = base + ".err"
        defer {
            unlink(outputPath)
            unlink(errorPath)
        }
        let output = try Self.privateFile(outputPath)
        let errors = try Self.privateFile(errorPath)
        let process = Process()
        // Wrapped so the limits hold without the server: `timeout` kills the tool at its time
        // limit even if the server died meanwhile (a tool is never left running for good), and
        // `prlimit` caps its address space (a picture that decodes to gigabytes fails instead of
        // taking the machine's memory). Both are in every Debian (coreutils, util-linux).
        if let timeout = Self.locate("timeout"), let prlimit = Self.locate("prlimit") {
            let seconds = max(1, Int(timeLimit.components.seconds) + 1)
            process.executableURL = URL(fileURLWithPath: prlimit)
            process.arguments = ["--as=\(Self.addressSpaceLimit)", "--", timeout, "-s", "KILL", String(seconds), path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        // A small, fixed environment: nothing of the server's (secrets may be in it) reaches a tool.
        process.environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "VIPS_CONCURRENCY": "1", "LC_ALL": "C", "TMPDIR": temporary]
            .merging(environment) { _, added in added }
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        // The tool is killed when it overruns its limit, and when the job is cancelled (the server
        // shuts down): it never outlives its purpose.
        let started = Mutex<Int32?>(nil)
        let limit = timeLimit
        let status: Int32 = try await withTaskCancellationHandler {
            do {
                return try await ProcessLaunch.runToEnd(process) { pid in
                    started.withLock { $0 = pid }
                    if Task.isCancelled { Self.killGroup(pid) }
                    Task.detached {
                        try? await Task.sleep(for: limit)
                        if process.isRunning { Self.killGroup(pid) }
                    }
                }
            } catch {
                throw Failure(tool: executable, reason: "could not start: \(error)")
            }
        } onCancel: {
            if let pid = started.withLock({ $0 }) { Self.killGroup(pid) }
        }
        try? output.close()
        try? errors.close()
        let printed = Self.read(outputPath, upTo: outputLimit)
        guard process.terminationReason == .exit, status == 0 else {
            let reason = process.terminationReason == .uncaughtSignal ? "stopped (time limit \(timeLimit) or crash)" : "exit status \(status)"
            throw Failure(tool: executable, reason: "\(reason): \(String(decoding: Self.read(errorPath, upTo: 300), as: UTF8.self))")
        }
        return printed
    }

    private static func privateFile(_ path: String) throws -> FileHandle {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(tool: "courier", reason: "cannot create \(path): \(String(cString: strerror(errno)))") }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    private static func read(_ path: String, upTo limit: Int) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: limit)) ?? Data()
    }

    /// Kills the tool and what it started: `timeout` leads a process group of its own (with the
    /// tool in it), so killing the group leaves nothing behind.
    static func killGroup(_ pid: Int32) {
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
    }

    /// Address space a tool may use: room for libvips or x264 at work, not for a decompression bomb.
    static let addressSpaceLimit = 3 << 30

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

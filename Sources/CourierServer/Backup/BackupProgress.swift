import Foundation
import Synchronization

/// Where a backup or restore says how far it got: one line on a terminal, rewritten in place at
/// most a few times a second, or nothing when the output is not a terminal (a cron job's mail).
public struct BackupProgress: Sendable {
    private let write: (@Sendable (String, Bool) -> Void)?

    public static let silent = BackupProgress(write: nil)

    /// Progress on standard error when it is a terminal.
    public static var terminal: BackupProgress {
        guard isatty(STDERR_FILENO) == 1 else { return .silent }
        let last = LastReport()
        return BackupProgress { line, done in
            guard done || last.due() else { return }
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)\(done ? "\n" : "")".utf8))
        }
    }

    public func report(_ line: String) { write?(line, false) }
    public func finish(_ line: String) { write?(line, true) }
}

/// When the last progress line was written, so a fast loop does not flood the terminal.
private final class LastReport: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    func due() -> Bool {
        let now = ContinuousClock.now
        return last.withLock { last in
            if let previous = last, now - previous < .milliseconds(200) { return false }
            last = now
            return true
        }
    }
}

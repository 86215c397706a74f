import CourierCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock (`flock`) on a file, held while the process keeps the value alive.
///
/// `courier serve` holds `<data>/courier.lock` shared, so that several processes may serve one
/// folder, while `courier restore` needs it exclusively: a restore never replaces the database
/// under a running server. A backup's and a restore's work folders hold their own `.lock`
/// exclusively, so a later run can tell a folder left by a killed run (lock free) from one in use.
public final class DataFolderLock: Sendable {
    private let descriptor: Int32

    public enum Mode: Sendable {
        case shared
        case exclusive
    }

    /// The lock file of a data folder.
    public static func path(in folder: String) -> String { (folder as NSString).appendingPathComponent("courier.lock") }

    /// Takes the lock on `path` (creating the file), or returns nil at once when another process
    /// holds it in a way that excludes `mode`.
    public init?(path: String, mode: Mode) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw BackupError("Cannot open the lock file \(path): \(String(cString: strerror(errno))).") }
        guard flock(descriptor, (mode == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Removes the work folders (`<data>/tmp/backup-*`, `tmp/restore-*`) that killed runs left
    /// behind (their lock is free); they may hold a plaintext copy of the database.
    public static func removeAbandonedWorkFolders(in dataDirectory: String) {
        let tmp = (dataDirectory as NSString).appendingPathComponent("tmp")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: tmp) else { return }
        for name in names where name.hasPrefix("backup-") || name.hasPrefix("restore-") {
            let folder = (tmp as NSString).appendingPathComponent(name)
            let lockPath = (folder as NSString).appendingPathComponent(".lock")
            // A folder whose lock someone holds is in use, and so is a new one without its lock
            // yet (its run is between two steps); the rest were left by killed runs.
            if FileManager.default.fileExists(atPath: lockPath) {
                if (try? DataFolderLock(path: lockPath, mode: .exclusive)) ?? nil == nil { continue }
            } else if let modified = (try? FileManager.default.attributesOfItem(atPath: folder))?[.modificationDate] as? Date,
                      Date().timeIntervalSince(modified) < 60 {
                continue
            }
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// Makes a private work folder under `<data>/tmp` for a backup or a restore and locks it.
    static func workFolder(in dataDirectory: String, purpose: String) throws -> (path: String, lock: DataFolderLock) {
        removeAbandonedWorkFolders(in: dataDirectory)
        let path = (dataDirectory as NSString).appendingPathComponent("tmp/\(purpose)-" + UUID.random().lowercasedString)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard let lock = try DataFolderLock(path: (path as NSString).appendingPathComponent(".lock"), mode: .exclusive) else {
            throw BackupError("Cannot lock the work folder \(path).")
        }
        return (path, lock)
    }
}

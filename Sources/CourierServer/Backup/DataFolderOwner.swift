import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Backups and restores write into the data folder (the audit anchor, work files, restored files):
/// run by another user than the server's (root, say), what they write would lock the server out.
enum DataFolderOwner {
    /// Throws when `folder` exists and belongs to another user than the one running this.
    static func requireCurrentUser(of folder: String) throws {
        var info = stat()
        guard stat(folder, &info) == 0, info.st_uid != geteuid() else { return }
        let owner = getpwuid(info.st_uid).flatMap { String(cString: $0.pointee.pw_name) } ?? "uid \(info.st_uid)"
        throw BackupError("\(folder) belongs to \(owner); run this as that user (sudo -u \(owner) courier …), or the files it writes would lock the server out.")
    }
}

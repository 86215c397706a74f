import CourierCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files only their owner may read, mode 0600 from the first byte (keys, secrets, the database).
///
/// Foundation's `createFile(atPath:contents:attributes:)` writes a temporary file with the default
/// mode, renames it into place and only then applies the attributes: for that moment a secret is
/// readable by everyone. These create the file with `open(2)` and mode 0600, so it never is.
public enum PrivateFile {
    public static let mode: mode_t = 0o600

    /// Creates `path` with `contents`, whole or not at all (a crash leaves no half-written key);
    /// fails when something (a file, a planted symlink) is there.
    public static func create(at path: String, contents: Data) throws {
        let temporary = try writeTemporary(contents, besides: path)
        defer { unlink(temporary) }
        // link(2) never replaces: it fails when the name is taken, and is atomic.
        guard link(temporary, path) == 0 else { throw PrivateFileError(path: path, operation: "create", code: errno) }
    }

    /// Replaces `path` with `contents` in one step: a crash leaves the old or the new file, never half.
    public static func replace(at path: String, contents: Data) throws {
        let temporary = try writeTemporary(contents, besides: path)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw PrivateFileError(path: path, operation: "replace", code: code)
        }
    }

    /// Writes `contents` to a new private file next to `path`, synced to disk, and returns its path.
    private static func writeTemporary(_ contents: Data, besides path: String) throws -> String {
        let temporary = "\(path).\(UUID.random().uuidString.prefix(8)).tmp"
        try createNew(at: temporary, contents: contents)
        return temporary
    }

    private static func createNew(at path: String, contents: Data) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw PrivateFileError(path: path, operation: "create", code: errno) }
        defer { close(descriptor) }
        try contents.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw PrivateFileError(path: path, operation: "write", code: errno)
                }
                offset += written
            }
        }
        guard fsync(descriptor) == 0 else { throw PrivateFileError(path: path, operation: "sync", code: errno) }
    }


    /// Makes sure `path` exists and only its owner may read or write it (creating it empty, or
    /// narrowing the mode of one that is there). For files another library then opens and fills,
    /// such as SQLite's database, whose journal files take the database file's mode.
    public static func secure(_ path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw PrivateFileError(path: path, operation: "open", code: errno) }
        defer { close(descriptor) }
        guard fchmod(descriptor, mode) == 0 else { throw PrivateFileError(path: path, operation: "chmod", code: errno) }
    }

    /// Narrows the mode of `path` to `mode` (0600 for files) when it exists and is wider; true when it did.
    @discardableResult
    public static func narrowIfPresent(_ path: String, to mode: mode_t = PrivateFile.mode) throws -> Bool {
        var status = stat()
        guard lstat(path, &status) == 0 else { return false }
        // A symlink is not followed: its target is not ours to change.
        guard status.st_mode & S_IFMT != S_IFLNK, status.st_mode & 0o077 != 0 else { return false }
        guard chmod(path, mode) == 0 else { throw PrivateFileError(path: path, operation: "chmod", code: errno) }
        return true
    }

    /// Creates the folder `path` with mode 0700 from the start (its missing parents too). A folder
    /// that is there already is left as it is (it may be shared, such as /tmp); returns false when
    /// others may enter it, for the caller to warn.
    @discardableResult
    public static func ensureDirectory(_ path: String) throws -> Bool {
        if mkdir(path, 0o700) == 0 { return true }
        switch errno {
        case EEXIST:
            var status = stat()
            guard stat(path, &status) == 0 else { throw PrivateFileError(path: path, operation: "inspect", code: errno) }
            return status.st_mode & 0o077 == 0
        case ENOENT:
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
            )
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw PrivateFileError(path: path, operation: "create", code: errno) }
            return true
        default:
            throw PrivateFileError(path: path, operation: "create", code: errno)
        }
    }
}

/// A private file could not be written, explained for the operator.
public struct PrivateFileError: Error, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let code: Int32

    public var description: String { "Cannot \(operation) \(path): \(String(cString: strerror(code)))" }
}

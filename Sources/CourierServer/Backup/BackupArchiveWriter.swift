import CourierCore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes an encrypted backup archive (`BackupArchiveFormat`), one entry at a time.
///
/// The archive is written to `<path>.partial-<random>` (its own, whatever else runs), private to its
/// owner from the first byte, and linked to `path` only after the manifest is on disk, never over
/// an existing file: a backup that fails or is killed never leaves a file under `path` that looks
/// complete. Used by one task at a time (the backup command).
final class BackupArchiveWriter {
    let path: String
    private let partialPath: String
    private let descriptor: Int32
    private let key: SymmetricKey
    private let headerHash: Data
    private var frameIndex: UInt64 = 0
    private var current: (path: String, size: Int64, hash: SHA256)?
    private var tally = BackupTally()
    /// Bytes written so far, for progress.
    private(set) var bytesWritten: Int64 = 0

    init(path: String, secret: BackupSecret, engine: String, createdAt: Int64) throws {
        // lstat, not a look through it: a dangling symlink is there too.
        var existing = stat()
        guard lstat(path, &existing) != 0 else { throw BackupError("\(path) exists already; give a new file name.") }
        self.path = path
        partialPath = path + ".partial-" + UUID.random().uuidString.prefix(8).lowercased()
        descriptor = open(partialPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BackupError("Cannot create \(partialPath): \(String(cString: strerror(errno))).") }
        let salt = Data((0..<16).map { _ in UInt8.random(in: .min ... .max) })
        key = try secret.archiveKey(salt: salt)
        let header = try JSONEncoder().encode(BackupArchiveFormat.Header(
            format: 1, kdf: secret.kdfName, salt: salt.base64EncodedString(), createdAt: createdAt, engine: engine
        ))
        headerHash = Data(SHA256.hash(data: header))
        try writeAll(BackupArchiveFormat.magic + BackupArchiveFormat.lengthPrefix(header.count) + header)
    }

    deinit {
        close(descriptor)
    }

    /// Adds a whole entry held in memory.
    func add(_ path: String, contents: some DataProtocol) throws {
        try begin(path)
        try write(contents)
        try end()
    }

    func begin(_ path: String) throws {
        precondition(current == nil, "an entry is open")
        try frame(.begin, Data(path.utf8))
        current = (path, 0, SHA256())
    }

    func write(_ bytes: some DataProtocol) throws {
        precondition(current != nil, "no entry is open")
        var rest = bytes[...]
        while !rest.isEmpty {
            let piece = rest.prefix(BackupArchiveFormat.dataPerFrame)
            rest = rest.dropFirst(piece.count)
            current!.hash.update(data: Data(piece))
            current!.size += Int64(piece.count)
            try frame(.data, Data(piece))
        }
    }

    @discardableResult
    func end() throws -> BackupManifest.Entry {
        guard let entry = current else { preconditionFailure("no entry is open") }
        current = nil
        let digest = Data(entry.hash.finalize()).hexString
        try frame(.end, try JSONEncoder().encode(BackupArchiveFormat.EntryEnd(size: entry.size, sha256: digest)))
        let done = BackupManifest.Entry(path: entry.path, size: entry.size, sha256: digest)
        tally.add(done)
        return done
    }

    /// The files written so far, as the manifest lists them.
    var entries: [BackupManifest.Entry] { tally.entries }

    /// The manifest's media summary of what was written.
    func mediaSummary(missingChunks: Int) -> BackupManifest.Media {
        tally.media(missingChunks: missingChunks)
    }

    /// Writes the manifest as the last frame, syncs the file to disk and gives it its name.
    func finish(_ manifest: BackupManifest) throws {
        precondition(current == nil, "an entry is open")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try frame(.manifest, try encoder.encode(manifest), isLast: true)
        guard fsync(descriptor) == 0 else { throw BackupError("Cannot sync \(partialPath): \(String(cString: strerror(errno))).") }
        guard link(partialPath, path) == 0 else {
            throw BackupError("Cannot name the archive \(path): \(String(cString: strerror(errno))).")
        }
        unlink(partialPath)
    }

    /// Removes the unfinished archive (after a failure).
    func discard() {
        unlink(partialPath)
    }

    private func frame(_ kind: BackupArchiveFormat.Kind, _ payload: Data, isLast: Bool = false) throws {
        var plaintext = Data([kind.rawValue])
        plaintext.append(payload)
        let box = try AES.GCM.seal(
            plaintext, using: key,
            authenticating: BackupArchiveFormat.associatedData(headerHash: headerHash, index: frameIndex, isLast: isLast)
        )
        frameIndex += 1
        let sealed = box.combined!
        try writeAll(BackupArchiveFormat.lengthPrefix(sealed.count) + sealed)
    }

    private func writeAll(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw BackupError("Cannot write \(partialPath): \(String(cString: strerror(errno))).")
                }
                offset += written
            }
        }
        bytesWritten += Int64(data.count)
    }
}

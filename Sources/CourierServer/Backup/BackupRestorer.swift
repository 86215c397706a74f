import CourierStore
import Foundation
import Logging
import NIOCore
import SQLKit

/// Checks a backup archive, and restores one into an empty data folder (and an empty PostgreSQL
/// database for a PostgreSQL backup).
///
/// A restore reads the archive twice: once to check every frame and hash, and only then to write,
/// so a damaged archive or a wrong key leaves the target untouched.
public struct BackupRestorer: Sendable {
    public enum Database: Sendable {
        /// Into `<data folder>/courier.sqlite`.
        case sqlite
        /// Into the database `url` names (its `public` schema, or `schema`).
        case postgres(url: PostgresURL, schema: String?)
    }

    public struct Target: Sendable {
        public var dataDirectory: String
        public var masterKeyPath: String
        public var database: Database
        public var blobs: any BlobStore
        /// Restore over what is there (files are replaced, `pg_restore --clean`).
        public var overwrite: Bool

        public init(dataDirectory: String, masterKeyPath: String, database: Database, blobs: any BlobStore, overwrite: Bool = false) {
            self.dataDirectory = dataDirectory
            self.masterKeyPath = masterKeyPath
            self.database = database
            self.blobs = blobs
            self.overwrite = overwrite
        }
    }

    public let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Reads the whole archive and checks it; returns its manifest.
    public func verify(_ path: String, secret: BackupSecret, progress: BackupProgress = .silent) async throws -> BackupManifest {
        let reader = try BackupArchiveReader(path: path, secret: secret)
        let manifest = try await reader.read { _ in
            progress.report("checking: \(BackupMaker.megabytes(reader.bytesRead)) of \(BackupMaker.megabytes(reader.size))")
        }
        progress.finish("\(path): whole and readable")
        return manifest
    }

    /// Restores the archive at `path` into `target` and returns its manifest.
    @discardableResult
    public func restore(_ path: String, secret: BackupSecret, into target: Target, progress: BackupProgress = .silent) async throws -> BackupManifest {
        let checked = try await verify(path, secret: secret, progress: progress)
        switch (checked.engine, target.database) {
        case ("sqlite", .sqlite), ("postgres", .postgres): break
        case ("sqlite", _): throw BackupError("This is a backup of a SQLite database: restore it without DATABASE_URL.")
        default: throw BackupError("This is a backup of a PostgreSQL database: give DATABASE_URL of an empty database to restore it into.")
        }
        try await checkTargetIsEmpty(target)
        try FileManager.default.createDirectory(atPath: target.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let work = (target.dataDirectory as NSString).appendingPathComponent("tmp/restore-" + UUID().uuidString.lowercased())
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: work) }

        let reader = try BackupArchiveReader(path: path, secret: secret)
        var sink: Sink?
        var databaseFile: String?
        let manifest = try await reader.read { event in
            switch event {
            case .begin(let entry):
                sink = try Sink(entry, target: target, work: work)
            case .data(let bytes):
                try sink?.write(bytes)
            case .end(let entry):
                guard let done = sink else { return }
                sink = nil
                if let file = try await done.finish(blobs: target.blobs) { databaseFile = file }
                if !BackupLayout.isMedia(entry.path) || reader.bytesRead % (64 << 20) < (1 << 20) {
                    progress.report("restoring: \(BackupMaker.megabytes(reader.bytesRead)) of \(BackupMaker.megabytes(reader.size))")
                }
            }
        }
        guard let databaseFile else { throw BackupError("\(path) holds no database.") }
        switch target.database {
        case .sqlite:
            let destination = (target.dataDirectory as NSString).appendingPathComponent("courier.sqlite")
            for suffix in ["-wal", "-shm"] { unlink(destination + suffix) }
            guard rename(databaseFile, destination) == 0 else { throw BackupError("Cannot move the database into place: \(String(cString: strerror(errno))).") }
        case .postgres(let url, _):
            progress.report("database: pg_restore")
            var arguments = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
            if target.overwrite { arguments += ["--clean", "--if-exists"] }
            try await PostgresTool.command("pg_restore", url: url, arguments: arguments + [databaseFile], folder: work, timeLimit: DatabaseSnapshot.dumpTimeLimit).run()
        }
        progress.finish("restored \(manifest.counts["messages"] ?? 0) messages, \(manifest.media.chunks) media chunks into \(target.dataDirectory)")
        return manifest
    }

    /// Refuses a target that holds data, unless told to overwrite it.
    private func checkTargetIsEmpty(_ target: Target) async throws {
        guard !target.overwrite else { return }
        if Self.holdsFiles(target.dataDirectory) {
            throw BackupError("\(target.dataDirectory) is not empty; restore into a new folder, or pass --force to overwrite it.")
        }
        if FileManager.default.fileExists(atPath: target.masterKeyPath) {
            throw BackupError("\(target.masterKeyPath) exists; restore with another master key path, or pass --force to overwrite it.")
        }
        if case .postgres(let url, let schema) = target.database {
            let engine = try await PostgresEngine.connect(url: url, maxConnections: 1, logger: logger)
            do {
                let tables = try await engine.read { sql in
                    try await sql.raw("""
                        SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = \(bind: schema ?? "public")
                        """).first()?.decode(column: "n", as: Int.self) ?? 0
                }
                try await engine.close()
                if tables > 0 {
                    throw BackupError("The PostgreSQL database already holds tables; restore into an empty database, or pass --force to replace them.")
                }
            } catch {
                try? await engine.close()
                throw error
            }
        }
    }

    /// Whether `folder` holds a file anywhere below it (empty folders, such as the media folder a
    /// blob store makes when it opens, do not count).
    static func holdsFiles(_ folder: String) -> Bool {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return false }
        while walker.nextObject() != nil {
            if walker.fileAttributes?[.type] as? FileAttributeType != .typeDirectory { return true }
        }
        return false
    }

    /// Where one archive entry's bytes go.
    private struct Sink {
        enum Destination {
            case file(FileHandle, temporary: String, final: String?)
            case chunk(blob: String, index: Int, bytes: ByteBuffer)
        }

        var destination: Destination

        init(_ entry: String, target: Target, work: String) throws {
            if let (blob, index) = BackupLayout.mediaChunk(entry) {
                destination = .chunk(blob: blob, index: index, bytes: ByteBuffer())
                return
            }
            let final: String?
            switch entry {
            case BackupLayout.sqliteDatabase, BackupLayout.postgresDump: final = nil
            case BackupLayout.masterKey: final = target.masterKeyPath
            default:
                guard let name = BackupLayout.dataFileName(entry) else { throw BackupError("The archive holds an entry this version does not know: \(entry).") }
                final = (target.dataDirectory as NSString).appendingPathComponent(name)
            }
            let temporary = (work as NSString).appendingPathComponent(UUID().uuidString.lowercased())
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw BackupError("Cannot create \(temporary): \(String(cString: strerror(errno))).") }
            destination = .file(FileHandle(fileDescriptor: descriptor, closeOnDealloc: true), temporary: temporary, final: final)
        }

        mutating func write(_ bytes: Data) throws {
            switch destination {
            case .file(let handle, _, _): try handle.write(contentsOf: bytes)
            case .chunk(let blob, let index, var buffer):
                guard buffer.readableBytes + bytes.count <= MediaCipher.chunkSize + MediaCipher.overhead else {
                    throw BackupError("The archive's media chunk \(blob)/\(index) is larger than any chunk can be.")
                }
                buffer.writeBytes(bytes)
                destination = .chunk(blob: blob, index: index, bytes: buffer)
            }
        }

        /// Puts the entry in place; returns the database file's path for a database entry.
        func finish(blobs: any BlobStore) async throws -> String? {
            switch destination {
            case .chunk(let blob, let index, let bytes):
                try await blobs.put(blob: blob, chunk: index, bytes: bytes)
                return nil
            case .file(let handle, let temporary, let final):
                try handle.synchronize()
                try handle.close()
                guard let final else { return temporary }
                // Files are written to the work folder and renamed, so a key file is never half there.
                guard rename(temporary, final) == 0 else { throw BackupError("Cannot write \(final): \(String(cString: strerror(errno))).") }
                return nil
            }
        }
    }
}

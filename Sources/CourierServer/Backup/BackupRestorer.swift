import CourierCore
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

    /// Reads the whole archive and checks it: every frame and hash, and that it holds what a
    /// restore needs (one database of its engine, the master key) and nothing this version does
    /// not know. Returns its manifest.
    public func verify(_ path: String, secret: BackupSecret, progress: BackupProgress = .silent) async throws -> BackupManifest {
        let reader = try BackupArchiveReader(path: path, secret: secret)
        let manifest = try await reader.read { event in
            if case .begin(let entry) = event, !BackupLayout.isKnown(entry) {
                throw BackupError("\(path) holds an entry this version does not know: \(entry). Restore it with the version that made it.")
            }
            progress.report("checking: \(BackupMaker.megabytes(reader.bytesRead)) of \(BackupMaker.megabytes(reader.size))")
        }
        let paths = manifest.entries.map(\.path)
        let database = manifest.engine == "postgres" ? BackupLayout.postgresDump : BackupLayout.sqliteDatabase
        guard paths.filter({ $0.hasPrefix("database/") }) == [database] else {
            throw BackupError("\(path) does not hold exactly one \(manifest.engine) database.")
        }
        guard paths.contains(BackupLayout.masterKey) else { throw BackupError("\(path) does not hold the master key file.") }
        progress.finish("\(path): whole and readable")
        return manifest
    }

    /// Restores the archive at `path` into `target` and returns its manifest.
    ///
    /// Nothing is written before the archive is checked whole. Then media chunks go into the blob
    /// store, the database into a work folder; only once all of that succeeded (and `pg_restore`
    /// did) are the database, the data folder's files and the master key moved into place. A
    /// failure on the way removes what this run wrote.
    @discardableResult
    public func restore(_ path: String, secret: BackupSecret, into target: Target, progress: BackupProgress = .silent) async throws -> BackupManifest {
        let checked = try await verify(path, secret: secret, progress: progress)
        switch (checked.engine, target.database) {
        case ("sqlite", .sqlite), ("postgres", .postgres): break
        case ("sqlite", _): throw BackupError("This is a backup of a SQLite database: restore it without DATABASE_URL.")
        default: throw BackupError("This is a backup of a PostgreSQL database: give DATABASE_URL of an empty database to restore it into.")
        }
        try DataFolderOwner.requireCurrentUser(of: target.dataDirectory)
        try FileManager.default.createDirectory(atPath: target.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // A running server holds this lock shared: never replace a database under it.
        guard let folderLock = try DataFolderLock(path: DataFolderLock.path(in: target.dataDirectory), mode: .exclusive) else {
            throw BackupError("A server (or another restore) is using \(target.dataDirectory); stop it before restoring into it.")
        }
        defer { withExtendedLifetime(folderLock) {} }
        try await checkTarget(target)
        let (work, workLock) = try DataFolderLock.workFolder(in: target.dataDirectory, purpose: "restore")
        defer {
            try? FileManager.default.removeItem(atPath: work)
            withExtendedLifetime(workLock) {}
        }

        var written = WrittenMedia()
        do {
            let reader = try BackupArchiveReader(path: path, secret: secret)
            var sink: Sink?
            var staged = Staged()
            let manifest = try await reader.read { event in
                switch event {
                case .begin(let entry):
                    sink = try Sink(entry, work: work)
                case .data(let bytes):
                    try sink?.write(bytes)
                case .end(let entry):
                    guard let done = sink else { return }
                    sink = nil
                    try await done.finish(entry.path, into: &staged, written: &written, blobs: target.blobs)
                    if !BackupLayout.isMedia(entry.path) || reader.bytesRead % (64 << 20) < (1 << 20) {
                        progress.report("restoring: \(BackupMaker.megabytes(reader.bytesRead)) of \(BackupMaker.megabytes(reader.size))")
                    }
                }
            }
            guard let databaseFile = staged.database, let masterKey = staged.files[BackupLayout.masterKey] else {
                throw BackupError("\(path) holds no database or no master key.")
            }
            if case .postgres(let url, _) = target.database {
                progress.report("database: pg_restore")
                var arguments = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
                if target.overwrite { arguments += ["--clean", "--if-exists"] }
                try await PostgresTool.command("pg_restore", url: url, arguments: arguments + [databaseFile], folder: work, timeLimit: DatabaseSnapshot.dumpTimeLimit).run()
            }
            // Into place, the master key last: a folder with a key file is a restored one. A database
            // that was there (`--force`) is moved aside first and back if anything after fails.
            let aside = try DatabaseAside(target)
            do {
                if case .sqlite = target.database {
                    guard rename(databaseFile, aside.destination) == 0 else {
                        throw BackupError("Cannot move the database into place: \(String(cString: strerror(errno))).")
                    }
                }
                for (entry, contents) in staged.files.sorted(by: { $0.key < $1.key }) where entry != BackupLayout.masterKey {
                    guard let name = BackupLayout.dataFileName(entry) else { continue }
                    try PrivateFile.replace(at: (target.dataDirectory as NSString).appendingPathComponent(name), contents: contents)
                }
                try PrivateFile.replace(at: target.masterKeyPath, contents: masterKey)
            } catch {
                aside.putBack()
                throw error
            }
            aside.discard()
            progress.finish("restored \(manifest.counts["messages"] ?? 0) messages, \(manifest.media.chunks) media chunks into \(target.dataDirectory)")
            return manifest
        } catch {
            // Files this run added to the blob store go again (never one that was there before);
            // the rest was only in the work folder.
            for (blob, chunks) in written.chunks where written.added.contains(blob) { try? await target.blobs.delete(blob: blob, chunkCount: chunks) }
            throw error
        }
    }

    /// Refuses a target that holds data, unless told to overwrite it, and one the master key
    /// cannot be written to.
    private func checkTarget(_ target: Target) async throws {
        let keyFolder = (target.masterKeyPath as NSString).deletingLastPathComponent
        guard access(keyFolder.isEmpty ? "." : keyFolder, W_OK) == 0 else {
            throw BackupError("The master key cannot be written to \(target.masterKeyPath): \(String(cString: strerror(errno))).")
        }
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
                // Anything in the schema counts: tables, views, sequences, types.
                let objects = try await engine.read { sql in
                    let namespace = schema ?? "public"
                    let relations = try await sql.raw("""
                        SELECT COUNT(*) AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = \(bind: namespace)
                        """).first()?.decode(column: "n", as: Int.self) ?? 0
                    let types = try await sql.raw("""
                        SELECT COUNT(*) AS n FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                        WHERE n.nspname = \(bind: namespace) AND t.typrelid = 0 AND t.typcategory <> 'A'
                        """).first()?.decode(column: "n", as: Int.self) ?? 0
                    return relations + types
                }
                try await engine.close()
                if objects > 0 {
                    throw BackupError("The PostgreSQL database is not empty; restore into an empty database, or pass --force to replace what is there.")
                }
            } catch {
                try? await engine.close()
                throw error
            }
        }
    }

    /// Whether `folder` holds a file anywhere below it. Empty folders (the media folder a blob
    /// store makes when it opens), the lock file and work folders do not count.
    static func holdsFiles(_ folder: String) -> Bool {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return false }
        while let name = walker.nextObject() as? String {
            if name == "courier.lock" { continue }
            if name == "tmp" || name.hasPrefix("tmp/") {
                if name.hasPrefix("tmp/backup-") || name.hasPrefix("tmp/restore-") { walker.skipDescendants() }
                if walker.fileAttributes?[.type] as? FileAttributeType == .typeDirectory { continue }
            }
            if walker.fileAttributes?[.type] as? FileAttributeType != .typeDirectory { return true }
        }
        return false
    }

    /// What a restore has put aside until everything is there: the database file in the work
    /// folder, and the small files (data-folder files, the master key) in memory.
    private struct Staged {
        var database: String?
        var files: [String: Data] = [:]
    }

    /// Chunks this run stored, per blob, and the blobs that were not there before it (only those
    /// are removed if it fails: `--force` restores over files the folder already has).
    private struct WrittenMedia {
        var chunks: [String: Int] = [:]
        var added: Set<String> = []
    }

    /// The SQLite database a `--force` restore replaces, with its WAL, kept aside until the restore
    /// is in place.
    private struct DatabaseAside {
        let destination: String
        private let moved: [String]

        init(_ target: Target) throws {
            destination = (target.dataDirectory as NSString).appendingPathComponent("courier.sqlite")
            guard case .sqlite = target.database else {
                moved = []
                return
            }
            var moved: [String] = []
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: destination + suffix) {
                guard rename(destination + suffix, destination + suffix + ".pre-restore") == 0 else {
                    for done in moved { rename(done + ".pre-restore", done) }
                    throw BackupError("Cannot move the old database aside: \(String(cString: strerror(errno))).")
                }
                moved.append(destination + suffix)
            }
            self.moved = moved
        }

        func putBack() {
            guard !moved.isEmpty else { return }
            for suffix in ["", "-wal", "-shm"] { unlink(destination + suffix) }
            for path in moved { rename(path + ".pre-restore", path) }
        }

        func discard() {
            for path in moved { unlink(path + ".pre-restore") }
        }
    }

    /// Where one archive entry's bytes go.
    private struct Sink {
        enum Destination {
            case file(FileHandle, path: String)
            case memory(Data)
            case chunk(blob: String, index: Int, bytes: ByteBuffer)
        }

        var destination: Destination

        init(_ entry: String, work: String) throws {
            if let (blob, index) = BackupLayout.mediaChunk(entry) {
                destination = .chunk(blob: blob, index: index, bytes: ByteBuffer())
            } else if entry == BackupLayout.sqliteDatabase || entry == BackupLayout.postgresDump {
                let path = (work as NSString).appendingPathComponent(UUID.random().lowercasedString)
                let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else { throw BackupError("Cannot create \(path): \(String(cString: strerror(errno))).") }
                destination = .file(FileHandle(fileDescriptor: descriptor, closeOnDealloc: true), path: path)
            } else {
                destination = .memory(Data())
            }
        }

        mutating func write(_ bytes: Data) throws {
            switch destination {
            case .file(let handle, _): try handle.write(contentsOf: bytes)
            case .memory(var data):
                guard data.count + bytes.count <= BackupMaker.maxDataFileBytes else { throw BackupError("A file in the archive is larger than any the data folder holds.") }
                data.append(bytes)
                destination = .memory(data)
            case .chunk(let blob, let index, var buffer):
                guard buffer.readableBytes + bytes.count <= MediaCipher.chunkSize + MediaCipher.overhead else {
                    throw BackupError("The archive's media chunk \(blob)/\(index) is larger than any chunk can be.")
                }
                buffer.writeBytes(bytes)
                destination = .chunk(blob: blob, index: index, bytes: buffer)
            }
        }

        func finish(_ entry: String, into staged: inout Staged, written: inout WrittenMedia, blobs: any BlobStore) async throws {
            switch destination {
            case .chunk(let blob, let index, let bytes):
                if written.chunks[blob] == nil, try await blobs.get(blob: blob, chunk: 0) == nil { written.added.insert(blob) }
                written.chunks[blob] = max(written.chunks[blob] ?? 0, index + 1)
                try await blobs.put(blob: blob, chunk: index, bytes: bytes)
            case .file(let handle, let path):
                try handle.synchronize()
                try handle.close()
                staged.database = path
            case .memory(let data):
                staged.files[entry] = data
            }
        }
    }
}

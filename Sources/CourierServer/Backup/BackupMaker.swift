import CourierCore
import CourierStore
import Foundation
import Logging
import NIOCore
import SQLKit

/// Takes a consistent online backup: the database at one point in time, the media it names, the
/// data folder's small files (JWT secret, audit anchors) and the master key file, in one archive
/// encrypted under a key or passphrase of the owner's (`BackupArchiveWriter`).
///
/// Writers keep going meanwhile. Order matters: the audit anchors are read before the snapshot
/// (so the copy's log reaches at least as far as its anchor), the master key file after it (it
/// only ever gains versions, so it opens every data key in the copy).
public struct BackupMaker: Sendable {
    public struct Source: Sendable {
        public var database: BackupDatabase
        public var dataDirectory: String
        public var masterKeyPath: String
        public var blobs: any BlobStore

        public init(database: BackupDatabase, dataDirectory: String, masterKeyPath: String, blobs: any BlobStore) {
            self.database = database
            self.dataDirectory = dataDirectory
            self.masterKeyPath = masterKeyPath
            self.blobs = blobs
        }
    }

    /// The tables whose rows a manifest counts.
    public static var countedTables: [String] { BackupContents.countedTables }

    /// The largest data-folder file a backup takes: the folder holds small secrets, not data.
    static let maxDataFileBytes = 1 << 20

    public let source: Source
    public let logger: Logger

    public init(source: Source, logger: Logger) {
        self.source = source
        self.logger = logger
    }

    /// Writes the archive to `path` and returns its manifest. `progress` hears what is being copied.
    @discardableResult
    public func backup(to path: String, secret: BackupSecret, progress: BackupProgress = .silent) async throws -> BackupManifest {
        try DataFolderOwner.requireCurrentUser(of: source.dataDirectory)
        let createdAt = Timestamp.now().milliseconds
        let writer = try BackupArchiveWriter(path: path, secret: secret, engine: source.database.engineName, createdAt: createdAt)
        do {
            let (work, lock) = try DataFolderLock.workFolder(in: source.dataDirectory, purpose: "backup")
            defer {
                try? FileManager.default.removeItem(atPath: work)
                withExtendedLifetime(lock) {}
            }

            for name in try dataFileNames() {
                let file = (source.dataDirectory as NSString).appendingPathComponent(name)
                guard let contents = FileManager.default.contents(atPath: file) else { continue }
                try writer.add(BackupLayout.dataFile(name), contents: contents)
            }

            progress.report("database: taking a snapshot")
            let snapshot = try await DatabaseSnapshot.take(of: source.database, into: work, logger: logger)
            try copy(file: snapshot.file, as: snapshot.archivePath, into: writer, progress: progress)
            try? FileManager.default.removeItem(atPath: snapshot.file)

            guard let masterKey = FileManager.default.contents(atPath: source.masterKeyPath) else {
                throw BackupError("Cannot read the master key file \(source.masterKeyPath).")
            }
            try writer.add(BackupLayout.masterKey, contents: masterKey)

            let missing = try await copyMedia(snapshot.contents.blobs, into: writer, progress: progress)
            try await requireMissingMediaDeleted(missing.blobs)
            let manifest = BackupManifest(
                formatVersion: 1, createdAt: createdAt, engine: source.database.engineName, schemaVersion: snapshot.contents.schemaVersion,
                counts: snapshot.contents.counts, entries: writer.entries, media: writer.mediaSummary(missingChunks: missing.chunks)
            )
            try writer.finish(manifest)
            progress.finish("\(path): \(Self.megabytes(writer.bytesWritten)) written")
            return manifest
        } catch {
            writer.discard()
            throw error
        }
    }

    /// The data folder's own small files; the database, its journal and folders are not among them.
    private func dataFileNames() throws -> [String] {
        let manager = FileManager.default
        let masterKey = URL(fileURLWithPath: source.masterKeyPath).standardizedFileURL.path
        return try manager.contentsOfDirectory(atPath: source.dataDirectory).sorted().filter { name in
            let path = (source.dataDirectory as NSString).appendingPathComponent(name)
            guard BackupLayout.dataFileName(BackupLayout.dataFile(name)) != nil, !name.hasPrefix("courier.sqlite"),
                  URL(fileURLWithPath: path).standardizedFileURL.path != masterKey,
                  let attributes = try? manager.attributesOfItem(atPath: path), attributes[.type] as? FileAttributeType == .typeRegular,
                  let size = attributes[.size] as? Int, size <= Self.maxDataFileBytes
            else { return false }
            return true
        }
    }

    private func copy(file: String, as archivePath: String, into writer: BackupArchiveWriter, progress: BackupProgress) throws {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw BackupError("Cannot read the snapshot \(file).") }
        defer { try? handle.close() }
        try writer.begin(archivePath)
        var copied: Int64 = 0
        while let piece = try handle.read(upToCount: BackupArchiveFormat.dataPerFrame), !piece.isEmpty {
            try writer.write(piece)
            copied += Int64(piece.count)
            progress.report("database: \(Self.megabytes(copied))")
        }
        try writer.end()
    }

    /// Copies every chunk the snapshot names; returns the chunks of finished files that were not
    /// there, and those files' blobs.
    private func copyMedia(
        _ blobs: [BackupContents.Blob], into writer: BackupArchiveWriter, progress: BackupProgress
    ) async throws -> (chunks: Int, blobs: Set<String>) {
        var missing = (chunks: 0, blobs: Set<String>())
        for (number, blob) in blobs.enumerated() {
            for index in 0..<blob.chunks {
                guard let bytes = try await source.blobs.get(blob: blob.name, chunk: index) else {
                    if blob.complete {
                        missing.chunks += 1
                        missing.blobs.insert(blob.name)
                    }
                    continue
                }
                try writer.add(BackupLayout.mediaChunk(blob: blob.name, index: index), contents: bytes.readableBytesView)
            }
            progress.report("media: \(number + 1) of \(blobs.count) files, \(Self.megabytes(writer.bytesWritten)) written")
        }
        if missing.chunks > 0 {
            logger.warning("media chunks deleted since the snapshot were left out", metadata: ["chunks": "\(missing.chunks)"])
        }
        return missing
    }

    /// A finished file's chunk may be missing only because the file was deleted after the
    /// snapshot. One the database still names means the media store is not the server's (S3
    /// settings left out, another data folder): the backup would silently lack media, so it fails.
    private func requireMissingMediaDeleted(_ blobs: Set<String>) async throws {
        guard !blobs.isEmpty else { return }
        let engine: any DatabaseEngine
        switch source.database {
        case .sqlite(let sqlite): engine = sqlite
        case .postgres(let postgres, _, _): engine = postgres
        }
        let ids = blobs.compactMap(UUID.init(uuidString:))
        var stillNamed = 0
        for start in stride(from: 0, to: ids.count, by: 500) {
            let part = Array(ids[start..<min(start + 500, ids.count)])
            stillNamed += try await engine.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM media_blobs WHERE blob_id IN (\(binds: part))").first()?.decode(column: "n", as: Int.self) ?? 0
            }
        }
        guard stillNamed == 0 else {
            throw BackupError(
                "\(stillNamed) media files the database names are not in the media store this backup reads; check that it runs with the server's media settings (the S3 bucket, the data folder). No archive was written."
            )
        }
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }
}

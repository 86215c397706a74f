import CourierCore
import Foundation
import NIOCore
import NIOPosix

/// Blobs as files in a folder of the data dir: `<folder>/<first two characters>/<blob>/<chunk>`.
///
/// A chunk is written to a temporary file (mode 0600) and renamed into place, so a crash leaves
/// the old chunk or the new one, never half of one. File I/O runs on `FileThreads`, never on an
/// event loop or on the pool the database uses.
public final class FolderBlobStore: BlobStore {
    let folder: URL
    private let threads = FileThreads.shared

    /// The folder (mode 0700) is made when the first chunk is written.
    public init(folder: String) throws {
        self.folder = URL(fileURLWithPath: folder, isDirectory: true)
    }

    public func put(blob: String, chunk index: Int, bytes: ByteBuffer) async throws {
        let directory = try blobFolder(blob)
        try await threads.runIfActive {
            if !FileManager.default.fileExists(atPath: self.folder.path) {
                try FileManager.default.createDirectory(at: self.folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let target = directory.appendingPathComponent(String(index))
            let temporary = directory.appendingPathComponent(".\(index).\(UUID.random().lowercasedString).tmp")
            let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw BlobStoreError.io("create", errno) }
            do {
                try bytes.withUnsafeReadableBytes { raw in
                    var offset = 0
                    while offset < raw.count {
                        let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                        if written < 0 {
                            if errno == EINTR { continue }
                            throw BlobStoreError.io("write", errno)
                        }
                        offset += written
                    }
                }
                close(fd)
                guard rename(temporary.path, target.path) == 0 else { throw BlobStoreError.io("rename", errno) }
            } catch {
                close(fd)
                unlink(temporary.path)
                throw error
            }
        }
    }

    public func get(blob: String, chunk index: Int) async throws -> ByteBuffer? {
        let file = try blobFolder(blob).appendingPathComponent(String(index))
        return try await threads.runIfActive {
            let fd = open(file.path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == ENOENT { return nil }
                throw BlobStoreError.io("open", errno)
            }
            defer { close(fd) }
            var status = stat()
            guard fstat(fd, &status) == 0 else { throw BlobStoreError.io("stat", errno) }
            let size = Int(status.st_size)
            var buffer = ByteBufferAllocator().buffer(capacity: size)
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                var offset = 0
                while offset < size {
                    let count = read(fd, raw.baseAddress! + offset, size - offset)
                    if count < 0 {
                        if errno == EINTR { continue }
                        throw BlobStoreError.io("read", errno)
                    }
                    if count == 0 { break }
                    offset += count
                }
                return offset
            }
            return buffer
        }
    }

    public func delete(blob: String, chunkCount: Int) async throws {
        let directory = try blobFolder(blob)
        try await threads.runIfActive {
            do {
                try FileManager.default.removeItem(at: directory)
            } catch CocoaError.fileNoSuchFile {
                return
            } catch let error as NSError where error.domain == NSCocoaErrorDomain && error.code == NSFileNoSuchFileError {
                return
            }
        }
    }

    /// Blob names are ids the server made; anything else would be a path trick.
    private func blobFolder(_ blob: String) throws -> URL {
        guard UUID(uuidString: blob) != nil else { throw BlobStoreError.invalidName }
        let name = blob.lowercased()
        return folder.appendingPathComponent(String(name.prefix(2)), isDirectory: true).appendingPathComponent(name, isDirectory: true)
    }
}

/// A blob store operation that failed.
public enum BlobStoreError: Error, CustomStringConvertible {
    case invalidName
    case io(String, Int32)

    public var description: String {
        switch self {
        case .invalidName: "blob names are ids"
        case .io(let operation, let code): "blob store \(operation) failed: \(String(cString: strerror(code)))"
        }
    }
}

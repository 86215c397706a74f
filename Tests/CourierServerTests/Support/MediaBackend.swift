import CourierStore
import Foundation
import NIOCore
import Synchronization
import Testing

/// The blob stores media tests run on: the data folder always; the S3 server when `scripts/test`
/// started one (`COURIER_TEST_S3_ENDPOINT`).
enum MediaBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case folder
    case s3

    static var all: [MediaBackend] { S3TestServer.isSet ? [.folder, .s3] : [.folder] }

    var testDescription: String { rawValue }

    /// A fresh store of this backend (S3: a key prefix of its own), recording every byte written.
    func make(in folder: TemporaryFolder) throws -> RecordingBlobStore {
        switch self {
        case .folder: RecordingBlobStore(try FolderBlobStore(folder: folder.path + "/media"))
        case .s3: RecordingBlobStore(try S3TestServer.store { $0.keyPrefix = "media-test-\(UUID().uuidString.lowercased())/" })
        }
    }
}

/// A blob store that keeps a copy of every chunk written to it: what a backend ever received,
/// for tests that look for plaintext in it.
final class RecordingBlobStore: BlobStore {
    let inner: any BlobStore
    private let written = Mutex(Data())

    init(_ inner: any BlobStore) {
        self.inner = inner
    }

    var everythingWritten: Data { written.withLock { $0 } }

    func put(blob: String, chunk index: Int, bytes: ByteBuffer) async throws {
        written.withLock { $0.append(contentsOf: bytes.readableBytesView) }
        try await inner.put(blob: blob, chunk: index, bytes: bytes)
    }

    func get(blob: String, chunk index: Int) async throws -> ByteBuffer? {
        try await inner.get(blob: blob, chunk: index)
    }

    func delete(blob: String, chunkCount: Int) async throws {
        try await inner.delete(blob: blob, chunkCount: chunkCount)
    }
}

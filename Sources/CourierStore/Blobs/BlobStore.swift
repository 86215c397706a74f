import NIOCore

/// Where media bytes live: a blob is a numbered sequence of chunks, each already encrypted by
/// `MediaCipher` before it gets here, so a backend only ever sees ciphertext. Two backends: a
/// folder in the data dir (`FolderBlobStore`, the default) and an S3-compatible bucket
/// (`S3BlobStore`), which several nodes can share.
///
/// A chunk is written whole or not at all (a crash mid-write leaves the previous version or
/// nothing), and writing a chunk again replaces it: an upload that resumes rewrites its last,
/// partial chunk.
public protocol BlobStore: Sendable {
    /// Stores chunk `index` of `blob`, replacing what was there.
    func put(blob: String, chunk index: Int, bytes: ByteBuffer) async throws
    /// Chunk `index` of `blob`, or nil when there is none.
    func get(blob: String, chunk index: Int) async throws -> ByteBuffer?
    /// Removes chunks `0..<chunkCount` of `blob` and the blob itself; what is not there is no error.
    func delete(blob: String, chunkCount: Int) async throws
}

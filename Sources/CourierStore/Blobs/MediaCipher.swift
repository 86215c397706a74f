import CourierCore
import Crypto
import Foundation
import NIOCore

/// Encrypts a media file in fixed-size chunks (AES-256-GCM under the file's own key), so a byte
/// range is read by opening only the chunks it touches.
///
/// Each sealed chunk is `nonce ‖ ciphertext ‖ tag` with a fresh random nonce (a resumed upload
/// seals its last chunk again). The associated data binds the blob, the chunk's index and the
/// file's chunk count: a chunk moved to another file or position, or a file cut short or made
/// longer, fails to open.
public struct MediaCipher: Sendable {
    /// Plaintext bytes per chunk: Telegram's upload part, so a client's part is one chunk.
    public static let chunkSize = 512 * 1024
    /// Bytes a sealed chunk adds: the nonce and the tag.
    public static let overhead = 12 + 16

    let key: SymmetricKey
    let blob: UUID
    /// Chunks of the whole file (known from its declared size).
    public let chunkCount: Int

    public init(key: SymmetricKey, blob: UUID, size: Int64) {
        self.key = key
        self.blob = blob
        self.chunkCount = Self.chunkCount(size: size)
    }

    public static func chunkCount(size: Int64) -> Int {
        max(1, Int((size + Int64(chunkSize) - 1) / Int64(chunkSize)))
    }

    /// Seals chunk `index` (at most `chunkSize` bytes of plaintext).
    public func seal(_ plaintext: some DataProtocol, index: Int) throws -> ByteBuffer {
        precondition(plaintext.count <= Self.chunkSize && index < chunkCount)
        let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(), authenticating: associatedData(index))
        var buffer = ByteBufferAllocator().buffer(capacity: plaintext.count + Self.overhead)
        box.nonce.withUnsafeBytes { buffer.writeBytes($0) }
        buffer.writeBytes(box.ciphertext)
        buffer.writeBytes(box.tag)
        return buffer
    }

    /// Opens chunk `index`; anything that does not open is an integrity error.
    public func open(_ sealed: ByteBuffer, index: Int) throws -> [UInt8] {
        guard sealed.readableBytes >= Self.overhead, index < chunkCount else { throw MediaIntegrityError(blob: blob, chunk: index) }
        do {
            let bytes = sealed.readableBytesView
            let nonce = try AES.GCM.Nonce(data: bytes.prefix(12))
            let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: bytes.dropFirst(12).dropLast(16), tag: bytes.suffix(16))
            return Array(try AES.GCM.open(box, using: key, authenticating: associatedData(index)))
        } catch {
            throw MediaIntegrityError(blob: blob, chunk: index)
        }
    }

    private func associatedData(_ index: Int) -> Data {
        Data("courier/media/v1/\(blob.lowercasedString)/\(index)/\(chunkCount)".utf8)
    }
}

/// A stored chunk that failed to open (tampered, moved, missing or cut short).
public struct MediaIntegrityError: Error, CustomStringConvertible {
    public let blob: UUID
    public let chunk: Int

    public init(blob: UUID, chunk: Int) {
        self.blob = blob
        self.chunk = chunk
    }

    public var description: String { "media blob \(blob.lowercasedString) chunk \(chunk) failed its integrity check" }
}

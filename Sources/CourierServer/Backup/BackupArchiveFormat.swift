import Crypto
import Foundation

/// The layout of a backup archive, shared by its writer and reader.
///
/// ```
/// "COURIER-BACKUP 1\n"
/// UInt32 length ‖ header (JSON, in clear: how the key is made, when, which engine)
/// frames: UInt32 length ‖ nonce ‖ AES-256-GCM ciphertext ‖ tag
/// ```
/// Every frame's associated data binds the header's hash, the frame's position and whether it is
/// the last one, so frames cannot be swapped, dropped, repeated or cut off without the reader
/// noticing, and the header cannot be exchanged. A frame holds one event: an entry begins (its
/// path), bytes of it, it ends (size and SHA-256), or the manifest, which is always the last frame.
enum BackupArchiveFormat {
    static let magic = Data("COURIER-BACKUP 1\n".utf8)
    /// Plaintext bytes of an entry per frame.
    static let dataPerFrame = 1 << 20
    /// No frame or header is larger than this; a length above it means a damaged archive.
    static let maxFrameBytes = dataPerFrame + 64
    static let maxHeaderBytes = 4096

    enum Kind: UInt8 {
        case begin = 1
        case data = 2
        case end = 3
        case manifest = 4
    }

    struct Header: Codable {
        var format: Int
        var kdf: String
        var salt: String
        var createdAt: Int64
        var engine: String

        enum CodingKeys: String, CodingKey {
            case format, kdf, salt, engine
            case createdAt = "created_at"
        }
    }

    /// What an entry's end frame records.
    struct EntryEnd: Codable {
        var size: Int64
        var sha256: String
    }

    static func associatedData(headerHash: Data, index: UInt64, isLast: Bool) -> Data {
        var data = Data("courier/backup/v1".utf8)
        data.append(headerHash)
        withUnsafeBytes(of: index.bigEndian) { data.append(contentsOf: $0) }
        data.append(isLast ? 1 : 0)
        return data
    }

    static func lengthPrefix(_ count: Int) -> Data {
        withUnsafeBytes(of: UInt32(count).bigEndian) { Data($0) }
    }
}

import Crypto
import Foundation

/// Reads and checks an encrypted backup archive written by `BackupArchiveWriter`.
///
/// Every frame is authenticated before anything in it is used; each entry's size and SHA-256 are
/// recomputed; the manifest must be the last frame, name exactly the entries seen, and be followed
/// by nothing. A wrong key or passphrase fails on the first frame with a message that says so.
final class BackupArchiveReader {
    enum Event {
        case begin(String)
        case data(Data)
        case end(BackupManifest.Entry)
    }

    let header: BackupArchiveFormat.Header
    private let handle: FileHandle
    private let path: String
    private let key: SymmetricKey
    private let headerHash: Data
    private var frameIndex: UInt64 = 0
    /// Bytes read so far, and the archive's size, for progress.
    private(set) var bytesRead: Int64 = 0
    let size: Int64

    init(path: String, secret: BackupSecret) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BackupError("Cannot open \(path).") }
        self.handle = handle
        self.path = path
        size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        let magic = try Self.read(handle, BackupArchiveFormat.magic.count)
        guard magic == BackupArchiveFormat.magic else { throw BackupError("\(path) is not a Courier backup archive.") }
        let length = try Self.readLength(handle, limit: BackupArchiveFormat.maxHeaderBytes, path: path)
        let headerBytes = try Self.read(handle, length)
        guard headerBytes.count == length, let header = try? JSONDecoder().decode(BackupArchiveFormat.Header.self, from: headerBytes),
              header.format == 1, let salt = Data(base64Encoded: header.salt)
        else { throw BackupError("\(path) has a damaged header.") }
        switch (header.kdf, secret) {
        case ("key", .passphrase): throw BackupError("This archive was made with a key file; give --key-file.")
        case ("scrypt", .key): throw BackupError("This archive was made with a passphrase; give --passphrase-file.")
        case ("key", .key), ("scrypt", .passphrase): break
        default: throw BackupError("\(path) uses an unknown key derivation (\(header.kdf)).")
        }
        self.header = header
        headerHash = Data(SHA256.hash(data: headerBytes))
        key = try secret.archiveKey(salt: salt)
        bytesRead = Int64(magic.count + 4 + length)
    }

    deinit {
        try? handle.close()
    }

    /// Reads the whole archive, handing each event to `visit`, and returns its checked manifest.
    func read(_ visit: (Event) async throws -> Void) async throws -> BackupManifest {
        var open: (path: String, size: Int64, hash: SHA256)?
        var tally = BackupTally()
        while true {
            let (kind, payload, isLast) = try nextFrame()
            switch kind {
            case .begin:
                guard open == nil, let path = String(data: payload, encoding: .utf8), !path.isEmpty else { throw damaged("an entry began inside another") }
                open = (path, 0, SHA256())
                try await visit(.begin(path))
            case .data:
                guard open != nil else { throw damaged("data outside an entry") }
                open!.size += Int64(payload.count)
                open!.hash.update(data: payload)
                try await visit(.data(payload))
            case .end:
                guard let entry = open, let end = try? JSONDecoder().decode(BackupArchiveFormat.EntryEnd.self, from: payload) else {
                    throw damaged("an entry ended that had not begun")
                }
                open = nil
                let digest = Data(entry.hash.finalize()).hexString
                guard end.size == entry.size, end.sha256 == digest else { throw damaged("\(entry.path) does not match its recorded hash") }
                let done = BackupManifest.Entry(path: entry.path, size: entry.size, sha256: digest)
                tally.add(done)
                try await visit(.end(done))
            case .manifest:
                guard isLast, open == nil, let manifest = try? JSONDecoder().decode(BackupManifest.self, from: payload) else {
                    throw damaged("the manifest is not where it belongs")
                }
                guard try handle.read(upToCount: 1)?.isEmpty ?? true else { throw damaged("bytes follow the manifest") }
                guard manifest.entries == tally.entries, manifest.media == tally.media(missingChunks: manifest.media.missingChunks) else {
                    throw damaged("the manifest does not list what the archive holds")
                }
                return manifest
            }
        }
    }

    private func nextFrame() throws -> (BackupArchiveFormat.Kind, Data, Bool) {
        guard let first = try handle.read(upToCount: 4), !first.isEmpty else { throw damaged("it ends before its manifest (cut short)") }
        guard first.count == 4 else { throw damaged("it ends inside a frame (cut short)") }
        let length = Int(first.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) })
        guard length >= 12 + 16 + 1, length <= BackupArchiveFormat.maxFrameBytes + 28 else { throw damaged("a frame has an impossible length") }
        let sealed = try Self.read(handle, length)
        guard sealed.count == length else { throw damaged("it ends inside a frame (cut short)") }
        bytesRead += Int64(4 + length)
        let box = try AES.GCM.SealedBox(combined: sealed)
        // The last frame is sealed as last: try that reading only when the ordinary one fails.
        for isLast in [false, true] {
            let data = BackupArchiveFormat.associatedData(headerHash: headerHash, index: frameIndex, isLast: isLast)
            if let plaintext = try? AES.GCM.open(box, using: key, authenticating: data) {
                frameIndex += 1
                guard let kind = plaintext.first.flatMap(BackupArchiveFormat.Kind.init(rawValue:)) else { throw damaged("a frame of an unknown kind") }
                return (kind, plaintext.dropFirst(), isLast)
            }
        }
        if frameIndex == 0 { throw BackupError("The key or passphrase does not open \(path) (or its first bytes are damaged).") }
        throw damaged("frame \(frameIndex) does not open: changed, moved or from another archive")
    }

    private func damaged(_ reason: String) -> BackupError {
        BackupError("\(path) is damaged: \(reason).")
    }

    private static func readLength(_ handle: FileHandle, limit: Int, path: String) throws -> Int {
        let bytes = try read(handle, 4)
        guard bytes.count == 4 else { throw BackupError("\(path) is cut short.") }
        let length = Int(bytes.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) })
        guard length > 0, length <= limit else { throw BackupError("\(path) has a damaged header.") }
        return length
    }

    /// Reads `count` bytes, fewer only at the end of the file.
    private static func read(_ handle: FileHandle, _ count: Int) throws -> Data {
        var data = Data()
        while data.count < count {
            guard let piece = try handle.read(upToCount: count - data.count), !piece.isEmpty else { break }
            data.append(piece)
        }
        return data
    }
}

import Crypto
import Foundation

/// What an archive's entries add up to, as its manifest records them: files listed one by one,
/// media chunks counted and hashed together. The writer keeps one to write the manifest, the
/// reader one to check it.
struct BackupTally {
    private(set) var entries: [BackupManifest.Entry] = []
    private var mediaChunks = 0
    private var mediaBytes: Int64 = 0
    private var mediaHash = SHA256()

    mutating func add(_ entry: BackupManifest.Entry) {
        guard BackupLayout.isMedia(entry.path) else {
            entries.append(entry)
            return
        }
        mediaChunks += 1
        mediaBytes += entry.size
        mediaHash.update(data: Data("\(entry.path) \(entry.sha256)\n".utf8))
    }

    func media(missingChunks: Int) -> BackupManifest.Media {
        BackupManifest.Media(chunks: mediaChunks, bytes: mediaBytes, sha256: Data(mediaHash.finalize()).hexString, missingChunks: missingChunks)
    }
}

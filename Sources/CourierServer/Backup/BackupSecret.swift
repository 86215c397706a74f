import CourierCore
import Crypto
import CryptoExtras
import Foundation

/// What a backup archive is locked with: a key file (32 random bytes, base64) or a passphrase.
///
/// A passphrase is stretched with scrypt under the archive's own random salt, so the same
/// passphrase gives every archive a different key and guessing costs memory as well as time.
/// Neither is ever taken from the command line, where other users of the machine could read it.
public enum BackupSecret: Sendable {
    case key(SymmetricKey)
    case passphrase(String)

    /// The scrypt work factor: 2^15 rounds of 8 blocks, about 32 MiB and a tenth of a second.
    static let scryptRounds = 1 << 15
    static let scryptBlockSize = 8

    /// Reads a key file: base64 of 32 bytes (`head -c 32 /dev/urandom | base64`).
    public static func keyFile(at path: String) throws -> BackupSecret {
        guard let data = FileManager.default.contents(atPath: path) else { throw BackupError("Cannot read the key file \(path).") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
            throw BackupError("The key file \(path) must hold 32 bytes in base64 (make one with: head -c 32 /dev/urandom | base64).")
        }
        return .key(SymmetricKey(data: bytes))
    }

    /// Reads a passphrase: the first line of a file (or of standard input for `-`).
    public static func passphraseFile(at path: String) throws -> BackupSecret {
        let data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: path)
        guard let data else { throw BackupError("Cannot read the passphrase file \(path).") }
        var line = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        // A file written on Windows ends its line with CR LF.
        if line.hasSuffix("\r") { line.removeLast() }
        return try fromPassphrase(line)
    }

    /// A passphrase given directly (from the environment); at least 12 characters.
    public static func fromPassphrase(_ text: String) throws -> BackupSecret {
        guard text.count >= 12 else { throw BackupError("A backup passphrase must have at least 12 characters.") }
        return .passphrase(text)
    }

    /// How the archive's header records the way its key is made.
    var kdfName: String {
        switch self {
        case .key: return "key"
        case .passphrase: return "scrypt"
        }
    }

    /// The archive key for a header with `salt`.
    func archiveKey(salt: Data) throws -> SymmetricKey {
        switch self {
        case .key(let key):
            return HKDF<SHA256>.deriveKey(inputKeyMaterial: key, salt: salt, info: Data("courier/backup/v1".utf8), outputByteCount: 32)
        case .passphrase(let text):
            return try KDF.Scrypt.deriveKey(
                from: Data(text.utf8), salt: salt, outputByteCount: 32, rounds: Self.scryptRounds, blockSize: Self.scryptBlockSize, parallelism: 1
            )
        }
    }
}

/// A backup or restore that cannot go on, with a message for the person at the terminal.
public struct BackupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

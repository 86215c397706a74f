import CourierStore
import Crypto
import Foundation

/// A random secret kept in a file only its owner can read (mode 0600).
///
/// Generated on first start, so a fresh install is secure without configuration, and kept across
/// restarts, so tokens stay valid.
enum SecretFile {
    /// Reads the secret at `path`, creating it with `byteCount` random bytes (hex) if it does not exist.
    static func loadOrCreate(at path: String, byteCount: Int = 64) throws -> String {
        let manager = FileManager.default
        // A secret left readable by others (an older install, a copy) is narrowed before it is used.
        _ = try? PrivateFile.narrowIfPresent(path)
        if !manager.fileExists(atPath: path) {
            let secret = SymmetricKey(size: SymmetricKeySize(bitCount: byteCount * 8))
                .withUnsafeBytes { Data($0) }.hexString
            // Created with 0600 from the start, so the secret is never readable by others, not even briefly.
            do {
                try PrivateFile.create(at: path, contents: Data(secret.utf8))
            } catch {
                throw ConfigurationError("Cannot write the secret file: \(error)")
            }
        }
        guard let data = manager.contents(atPath: path),
              let secret = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              secret.utf8.count >= ServerConfiguration.minimumJWTSecretBytes
        else {
            throw ConfigurationError("The secret file \(path) is unreadable or too short; remove it to generate a new one.")
        }
        return secret
    }

    /// Creates the data folder, readable only by its owner, if it does not exist yet; returns false
    /// when one that is there lets others in.
    @discardableResult
    static func ensureDirectory(_ path: String) throws -> Bool {
        do {
            return try PrivateFile.ensureDirectory(path)
        } catch {
            throw ConfigurationError("Cannot create the data folder \(path): \(error)")
        }
    }
}

extension Data {
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}

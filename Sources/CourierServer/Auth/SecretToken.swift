import Crypto
import Foundation

/// Random opaque tokens (refresh tokens, Telegram link tokens, references) and the form they are
/// stored in: only a SHA-256, so a copy of the database cannot be used to present them.
enum SecretToken {
    /// `bytes` random bytes, base64url without padding (43 characters for 32 bytes).
    static func random(bytes: Int = 32) -> String {
        SymmetricKey(size: SymmetricKeySize(bitCount: bytes * 8)).withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The stored form of a token: its SHA-256, hex.
    static func hash(_ token: String) -> String {
        Data(SHA256.hash(data: Data(token.utf8))).hexString
    }
}

import CourierCore
import Crypto
import Foundation

/// Signs download links (`/media/{id}?variant=…&expires=…&user=…&sig=…`) so a browser can put a
/// file in `<img src>` or `<video src>` without its access token. A link names who it was made
/// for, and the download still checks that person's access: leaving the chat ends it too.
struct MediaLinkSigner: Sendable {
    let key: SymmetricKey

    func signature(media: UUID, variant: String, user: UUID, expires: Int64) -> String {
        let text = "courier-media-link/v1|\(media.lowercasedString)|\(variant)|\(user.lowercasedString)|\(expires)"
        return Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)).map { String(format: "%02x", $0) }.joined()
    }

    func isValid(_ signature: String, media: UUID, variant: String, user: UUID, expires: Int64) -> Bool {
        let expected = self.signature(media: media, variant: variant, user: user, expires: expires)
        // Constant time: the comparison must not tell how much of a guess was right.
        guard expected.utf8.count == signature.utf8.count else { return false }
        return zip(expected.utf8, signature.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

import Foundation

/// A bot's token in Telegram's form, `<id>:<secret>`: the id is the bot's Bot API id, the secret
/// a `SecretToken` (32 random bytes in URL-safe Base64). Only the secret's SHA-256 is stored; it is 256 random bits,
/// so a fast hash is as good as a slow one and every Bot API call can check it.
public struct BotToken: Sendable, Equatable {
    public let botNumber: Int64
    public let secret: String

    public init(botNumber: Int64, secret: String) {
        self.botNumber = botNumber
        self.secret = secret
    }

    /// A new token for the bot whose Bot API id is `botNumber`.
    public static func generate(botNumber: Int64) -> BotToken {
        BotToken(botNumber: botNumber, secret: SecretToken.random())
    }

    /// Reads a token from a URL; nil unless it has the form (digits, a colon, 20 to 100 URL-safe characters).
    public init?(parsing text: Substring) {
        guard text.utf8.count <= 128, let colon = text.firstIndex(of: ":") else { return nil }
        let id = text[..<colon]
        let secret = text[text.index(after: colon)...]
        // Digits only, as the token was issued: "+12" and "012" would also parse as numbers.
        guard (1...19).contains(id.count), id.utf8.allSatisfy({ (0x30...0x39).contains($0) }), id.first != "0",
              let number = Int64(id), number > 0,
              (20...100).contains(secret.count),
              secret.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") })
        else { return nil }
        self.init(botNumber: number, secret: String(secret))
    }

    public var text: String { "\(botNumber):\(secret)" }

    /// What is stored of the secret.
    public var secretHash: String { SecretToken.hash(secret) }

    /// Whether this token's secret is the one whose hash is stored, compared in constant time.
    public func matches(hash stored: String) -> Bool {
        let mine = Array(secretHash.utf8)
        let theirs = Array(stored.utf8)
        guard mine.count == theirs.count else { return false }
        return zip(mine, theirs).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

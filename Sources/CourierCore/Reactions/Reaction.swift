/// How one emoji stands under a message: how many reacted with it, and who (the first
/// `Reaction.maxListed`, earliest first; nobody in channels, where reactions are counts only).
public struct ReactionCount: Sendable, Equatable, Codable {
    public var emoji: String
    public var count: Int
    public var userIDs: [String]

    public init(emoji: String, count: Int, userIDs: [String]) {
        self.emoji = emoji
        self.count = count
        self.userIDs = userIDs
    }
}

/// Reactions: any single emoji, one per person per message (Telegram's free rule: a new one
/// replaces yours).
public enum Reaction {
    /// Who reacted is listed up to this many per emoji; the count is always exact.
    public static let maxListed = 50
    /// The longest emoji accepted, in UTF-8 bytes (the longest standard ZWJ sequences are 35).
    public static let maxEmojiBytes = 40

    /// `text` as a reaction: exactly one emoji (a single grapheme whose first scalar is an emoji
    /// other than a plain digit, `#` or `*`), or an error naming `emoji`.
    public static func emoji(_ text: String) throws(CourierError) -> String {
        guard text.count == 1, text.utf8.count <= maxEmojiBytes, let first = text.unicodeScalars.first,
              first.properties.isEmoji, !first.isASCII
        else { throw CourierError.invalid("emoji", "emoji must be a single emoji.") }
        return text
    }
}

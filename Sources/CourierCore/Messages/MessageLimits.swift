/// Size limits of messages, enforced by the messaging service on every transport.
public enum MessageLimits {
    /// Characters of text or caption, as Telegram allows.
    public static let maxContentCharacters = 4096
    /// Bytes of a message's metadata object once encoded.
    public static let maxMetadataBytes = 4096
    /// Media ids attached to one message.
    public static let maxAttachments = 10
    /// Bytes of a media URL.
    public static let maxMediaURLBytes = 2048
    /// Characters of a client's idempotency id.
    public static let maxClientMessageIDCharacters = 64
}

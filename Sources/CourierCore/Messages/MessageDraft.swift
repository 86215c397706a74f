import Foundation

/// A message as a client asks to send it, checked against the limits before anything is stored.
public struct MessageDraft: Sendable, Equatable {
    public var chatID: UUID
    public var content: String
    public var kind: MessageKind
    public var mediaURL: String?
    public var attachments: [String]
    /// The attachments as checked by the media service (their owner, state and kind); empty until then.
    public var media: [MediaAttachment] = []
    public var metadata: [String: JSONValue]?
    public var replyToID: UUID?
    public var clientMessageID: String?

    /// Validates every field; text needs content or attachments (then it is a caption), media needs a
    /// `media_url` or attachments.
    public init(
        chatID: UUID, content: String, kind: MessageKind = .text, mediaURL: String? = nil, attachments: [String] = [],
        metadata: [String: JSONValue]? = nil, replyToID: UUID? = nil, clientMessageID: String? = nil
    ) throws(CourierError) {
        let content = Self.normalized(content)
        // Ids compare in one case: the same media twice in two spellings is still twice.
        let attachments = attachments.map { $0.lowercased() }
        try Self.validate(content: content, allowEmpty: kind != .text || !attachments.isEmpty)
        if let mediaURL {
            guard WebURL.isValid(mediaURL, maxBytes: MessageLimits.maxMediaURLBytes) else { throw .invalid("media_url", "media_url must be an http(s) URL of at most \(MessageLimits.maxMediaURLBytes) bytes.") }
        }
        if kind != .text, mediaURL == nil, attachments.isEmpty {
            throw .invalid("media_url", "A \(kind.rawValue) message needs a media_url or attachments.")
        }
        guard attachments.count <= MessageLimits.maxAttachments else {
            throw .invalid("attachments", "At most \(MessageLimits.maxAttachments) attachments per message.")
        }
        guard attachments.allSatisfy({ UUID(text: $0) != nil }), Set(attachments).count == attachments.count else {
            throw .invalid("attachments", "attachments must be distinct media ids.")
        }
        if let metadata {
            guard metadata[Self.callRecordKey] == nil else {
                throw .invalid("metadata", "metadata.\(Self.callRecordKey) is kept for the lines calls leave in a chat.")
            }
            guard metadata[Self.replyMarkupKey] == nil else {
                throw .invalid("metadata", "metadata.\(Self.replyMarkupKey) is kept for the buttons bots put under their messages.")
            }
            let size = (try? JSONEncoder().encode(metadata).count) ?? Int.max
            guard size <= MessageLimits.maxMetadataBytes else {
                throw .invalid("metadata", "metadata must be at most \(MessageLimits.maxMetadataBytes) bytes of JSON.")
            }
        }
        if let clientMessageID {
            guard !clientMessageID.isEmpty, clientMessageID.count <= MessageLimits.maxClientMessageIDCharacters else {
                throw .invalid("client_msg_id", "client_msg_id must be 1 to \(MessageLimits.maxClientMessageIDCharacters) characters.")
            }
            // Stored as it is, not sealed: PostgreSQL's text takes no NUL (it failed the insert).
            guard !clientMessageID.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .invalid("client_msg_id", "client_msg_id must not contain control characters.")
            }
        }
        self.chatID = chatID
        self.content = content
        self.kind = kind
        self.mediaURL = mediaURL
        self.attachments = attachments
        self.metadata = metadata
        self.replyToID = replyToID
        self.clientMessageID = clientMessageID
    }

    /// The metadata key of a bot message's inline keyboard (Telegram's `reply_markup`); only bots set it, through the Bot API.
    public static let replyMarkupKey = "reply_markup"

    /// The metadata key of a call's line in its DM's history; only the server writes it.
    public static let callRecordKey = "call"

    /// The line a call leaves in its DM's history: `summary` as text, `details` under
    /// `metadata.call` (clients word the line for their side from them).
    /// It has no `client_msg_id`: the call ends once (a conditional update), and an id a client could
    /// learn would let it claim the line's place first.
    public static func callRecord(chatID: UUID, summary: String, details: [String: JSONValue]) throws(CourierError) -> MessageDraft {
        var draft = try MessageDraft(chatID: chatID, content: summary)
        draft.metadata = [callRecordKey: .object(details)]
        return draft
    }

    /// Text without leading and trailing white space; the one form that is stored and counted.
    public static func normalized(_ content: String) -> String { content.trimmingWhitespace() }

    /// Checks text against the content limits (also used when editing).
    public static func validate(content: String, allowEmpty: Bool) throws(CourierError) {
        if content.isEmpty, !allowEmpty {
            throw .invalid("content", "A text message cannot be empty.")
        }
        guard content.count <= MessageLimits.maxContentCharacters else {
            throw .invalid("content", "Content must be at most \(MessageLimits.maxContentCharacters) characters.")
        }
    }
}

import Foundation

/// The buttons a bot puts under its message (Telegram's `InlineKeyboardMarkup`), checked against
/// limits before it is stored: a button has text and either `callback_data` (sent back to the bot
/// when pressed) or an `http(s)` `url`.
public struct InlineKeyboard: Sendable, Equatable, Codable {
    public struct Button: Sendable, Equatable, Codable {
        public let text: String
        public let callbackData: String?
        public let url: String?

        enum CodingKeys: String, CodingKey {
            case text
            case callbackData = "callback_data"
            case url
        }
    }

    public let rows: [[Button]]

    enum CodingKeys: String, CodingKey {
        case rows = "inline_keyboard"
    }

    public static let maxButtons = 100
    public static let maxButtonsPerRow = 8
    public static let maxTextCharacters = 64
    /// Telegram's limit on `callback_data`, in bytes.
    public static let maxCallbackDataBytes = 64

    public init(rows: [[Button]]) throws(CourierError) {
        let buttons = rows.flatMap { $0 }
        guard buttons.count <= Self.maxButtons, rows.allSatisfy({ $0.count <= Self.maxButtonsPerRow }) else {
            throw .invalid("reply_markup", "At most \(Self.maxButtons) buttons, \(Self.maxButtonsPerRow) a row.")
        }
        for button in buttons {
            guard (1...Self.maxTextCharacters).contains(button.text.count) else {
                throw .invalid("reply_markup", "A button's text is 1 to \(Self.maxTextCharacters) characters.")
            }
            switch (button.callbackData, button.url) {
            case (let data?, nil):
                guard (1...Self.maxCallbackDataBytes).contains(data.utf8.count) else {
                    throw .invalid("reply_markup", "callback_data is 1 to \(Self.maxCallbackDataBytes) bytes.")
                }
            case (nil, let url?):
                guard WebURL.isValid(url, maxBytes: 2048) else { throw .invalid("reply_markup", "A button's url must be an http(s) URL.") }
            default:
                throw .invalid("reply_markup", "A button needs exactly one of callback_data and url.")
            }
        }
        self.rows = rows.filter { !$0.isEmpty }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(rows: try container.decode([[Button]].self, forKey: .rows))
    }

    /// Whether a button of this keyboard sends `data` back.
    public func hasButton(withData data: String) -> Bool {
        rows.contains { $0.contains { $0.callbackData == data } }
    }

    /// The keyboard as stored in a message's metadata.
    public var jsonValue: JSONValue {
        .object(["inline_keyboard": .array(rows.map { row in
            .array(row.map { button in
                var object: [String: JSONValue] = ["text": .string(button.text)]
                if let data = button.callbackData { object["callback_data"] = .string(data) }
                if let url = button.url { object["url"] = .string(url) }
                return .object(object)
            })
        })])
    }

    /// The keyboard a message's metadata holds, if any.
    public init?(metadata: [String: JSONValue]?) {
        guard let value = metadata?[MessageDraft.replyMarkupKey], case .object(let object) = value,
              case .array(let rows)? = object["inline_keyboard"] else { return nil }
        var parsed: [[Button]] = []
        for row in rows {
            guard case .array(let buttons) = row else { return nil }
            parsed.append(buttons.compactMap { button in
                guard case .object(let fields) = button, case .string(let text)? = fields["text"] else { return nil }
                var data: String?
                var url: String?
                if case .string(let value)? = fields["callback_data"] { data = value }
                if case .string(let value)? = fields["url"] { url = value }
                return Button(text: text, callbackData: data, url: url)
            })
        }
        self.rows = parsed
    }
}

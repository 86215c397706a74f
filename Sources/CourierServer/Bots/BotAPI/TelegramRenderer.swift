import CourierCore
import CourierStore
import Foundation

/// Turns Courier's users, chats and messages into the Bot API's objects as one bot sees them,
/// mapping UUIDs to the Bot API's integer ids. One renderer serves one call: it remembers what it
/// has looked up, so a page of updates from one chat reads the chat and its people once.
actor TelegramRenderer {
    let bot: BotService.Identity
    let bots: BotStore
    let users: UserStore
    let chats: ChatStore
    let messages: MessageStore

    private var numbers: [UUID: Int64] = [:]
    private var people: [UUID: TelegramObjects.User] = [:]
    private var chatObjects: [UUID: TelegramObjects.Chat] = [:]

    init(bot: BotService.Identity, bots: BotStore, users: UserStore, chats: ChatStore, messages: MessageStore) {
        self.bot = bot
        self.bots = bots
        self.users = users
        self.chats = chats
        self.messages = messages
        numbers[bot.userID] = bot.number
    }

    func number(_ id: UUID) async throws -> Int64 {
        if let known = numbers[id] { return known }
        let number = try await bots.number(for: id)
        numbers[id] = number
        return number
    }

    func user(_ id: UUID?) async throws -> TelegramObjects.User? {
        guard let id else { return nil }
        return try await user(id)
    }

    func user(_ id: UUID) async throws -> TelegramObjects.User? {
        if let known = people[id] { return known }
        guard let found = try await users.find(id: id) else { return nil }
        let user = TelegramObjects.User(
            id: try await number(id), is_bot: found.isBot, first_name: found.username.value, username: found.username.value,
            is_premium: found.isPremium ? true : nil
        )
        people[id] = user
        return user
    }

    /// A chat as the bot sees it: a DM is the person on the other side (its id is theirs, as on
    /// Telegram), a group a negative id.
    func chat(_ chat: Chat) async throws -> TelegramObjects.Chat {
        if let known = chatObjects[chat.id] { return known }
        let object: TelegramObjects.Chat
        switch chat.kind {
        case .dm:
            let peer = try await chats.memberIDs(of: chat.id).first { $0 != bot.userID }
            let person = try await user(peer)
            let id: Int64 = if let person { person.id } else { -(try await number(chat.id)) }
            object = TelegramObjects.Chat(id: id, type: "private", username: person?.username, first_name: person?.first_name)
        case .group:
            object = TelegramObjects.Chat(id: -(try await number(chat.id)), type: "group", title: chat.name)
        case .channel:
            let info = try await chats.channelInfo(chat.id)
            object = TelegramObjects.Chat(id: -(try await number(chat.id)), type: "channel", title: chat.name, username: info?.username?.value)
        }
        chatObjects[chat.id] = object
        return object
    }

    func chat(id: UUID) async throws -> TelegramObjects.Chat? {
        guard let found = try await chats.find(id: id) else { return nil }
        return try await chat(found)
    }

    /// A message; `withReply` adds the message it answers (one level, as Telegram does).
    func message(_ message: Message, in chat: TelegramObjects.Chat, withReply: Bool = true) async throws -> TelegramObjects.Message {
        var reply: TelegramObjects.Message?
        if withReply, let replyID = message.replyToID, let original = try await messages.find(id: replyID), !original.isDeleted {
            reply = try await self.message(original, in: chat, withReply: false)
        }
        var origin: TelegramObjects.MessageOrigin?
        if message.forwardedFromID != nil {
            let author = try await user(message.forwardedFromSenderID)
            origin = TelegramObjects.MessageOrigin(
                type: author == nil ? "hidden_user" : "user", date: message.createdAt.seconds, sender_user: author,
                sender_user_name: author == nil ? "Deleted account" : nil
            )
        }
        let media = message.media.first
        let text = message.content.isEmpty ? nil : message.content
        let entities = text.map(Self.commandEntities(in:))
        let isCaption = media != nil
        return TelegramObjects.Message(
            message_id: message.seq,
            from: try await user(message.senderID),
            chat: chat,
            date: message.createdAt.seconds,
            edit_date: message.editedAt?.seconds,
            text: isCaption ? nil : text,
            entities: isCaption ? nil : entities.flatMap { $0.isEmpty ? nil : $0 },
            caption: isCaption ? text : nil,
            caption_entities: isCaption ? entities.flatMap { $0.isEmpty ? nil : $0 } : nil,
            photo: media.flatMap { $0.kind == .photo ? Self.photoSizes(of: $0) : nil },
            document: media.flatMap { $0.kind == .file ? Self.document(of: $0) : nil },
            voice: media.flatMap { $0.kind == .voice ? Self.voice(of: $0) : nil },
            video: media.flatMap { $0.kind == .video ? Self.video(of: $0) : nil },
            reply_to_message: reply,
            forward_origin: origin,
            reply_markup: InlineKeyboard(metadata: message.metadata)
        )
    }

    // MARK: Files

    /// A file id names a media file and, for a photo's smaller sizes, the variant: `<media>` or
    /// `<media>_<variant>`. It is an id, not a capability: `getFile` checks that the bot may see it.
    static func fileID(_ mediaID: String, variant: String? = nil) -> String {
        variant.map { "\(mediaID)_\($0)" } ?? mediaID
    }

    static func photoSizes(of media: MediaAttachment) -> [TelegramObjects.PhotoSize] {
        // The sized copies of the photo; not its square thumbnail or second copies in another format.
        let sizes = media.variants.compactMap { variant -> TelegramObjects.PhotoSize? in
            guard let width = variant.width, let height = variant.height, !variant.name.hasPrefix("thumb"), !variant.name.hasSuffix("_webp")
            else { return nil }
            return TelegramObjects.PhotoSize(
                file_id: fileID(media.id, variant: variant.name), file_unique_id: fileID(media.id, variant: variant.name),
                width: width, height: height, file_size: variant.size
            )
        }
        // Smallest first, the largest last, as Telegram lists them.
        guard !sizes.isEmpty else {
            return [TelegramObjects.PhotoSize(file_id: media.id, file_unique_id: media.id, width: media.width ?? 0, height: media.height ?? 0, file_size: media.size)]
        }
        return sizes.sorted { ($0.width * $0.height, $0.file_size ?? 0) < ($1.width * $1.height, $1.file_size ?? 0) }
    }

    /// The media and variant a file id names.
    static func parseFileID(_ text: String) -> (mediaID: UUID, variant: String?)? {
        let parts = text.split(separator: "_", maxSplits: 1)
        guard let first = parts.first, let id = UUID(uuidString: String(first)) else { return nil }
        return (id, parts.count > 1 ? String(parts[1]) : nil)
    }

    static func document(of media: MediaAttachment) -> TelegramObjects.Document {
        TelegramObjects.Document(file_id: media.id, file_unique_id: media.id, file_name: media.fileName, mime_type: media.mimeType, file_size: media.size)
    }

    static func voice(of media: MediaAttachment) -> TelegramObjects.Voice {
        TelegramObjects.Voice(file_id: media.id, file_unique_id: media.id, duration: Int(media.duration ?? 0), mime_type: media.mimeType, file_size: media.size)
    }

    static func video(of media: MediaAttachment) -> TelegramObjects.Video {
        TelegramObjects.Video(
            file_id: media.id, file_unique_id: media.id, width: media.width ?? 0, height: media.height ?? 0,
            duration: Int(media.duration ?? 0), mime_type: media.mimeType, file_size: media.size, file_name: media.fileName
        )
    }

    // MARK: Entities

    /// `bot_command` entities: `/command` or `/command@bot` at the start of a word, with offsets
    /// and lengths in UTF-16 code units, as the Bot API counts them.
    static func commandEntities(in text: String) -> [TelegramObjects.MessageEntity] {
        var entities: [TelegramObjects.MessageEntity] = []
        let units = Array(text.utf16)
        var index = 0
        func isWordCharacter(_ unit: UInt16) -> Bool {
            (0x30...0x39).contains(unit) || (0x41...0x5A).contains(unit) || (0x61...0x7A).contains(unit) || unit == 0x5F
        }
        while index < units.count {
            let startsWord = index == 0 || [0x20, 0x0A, 0x09, 0x0D].contains(units[index - 1])
            guard units[index] == 0x2F, startsWord else { index += 1; continue }
            var end = index + 1
            while end < units.count, isWordCharacter(units[end]), end - index <= 32 { end += 1 }
            guard end > index + 1 else { index += 1; continue }
            if end < units.count, units[end] == 0x40 {
                var mentionEnd = end + 1
                while mentionEnd < units.count, isWordCharacter(units[mentionEnd]) { mentionEnd += 1 }
                if mentionEnd - end > 1 { end = mentionEnd }
            }
            entities.append(.init(type: "bot_command", offset: index, length: end - index))
            index = end
        }
        return entities
    }
}

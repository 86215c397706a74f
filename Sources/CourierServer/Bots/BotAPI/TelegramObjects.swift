import CourierCore

/// The Bot API's objects, with Telegram's field names, as Courier answers them. Only the fields
/// Courier has are set; the libraries treat the others as absent.
enum TelegramObjects {
    struct User: Encodable, Sendable {
        let id: Int64
        let is_bot: Bool
        let first_name: String
        let username: String?
        var is_premium: Bool?
        // getMe only.
        var can_join_groups: Bool?
        var can_read_all_group_messages: Bool?
        var supports_inline_queries: Bool?
    }

    struct Chat: Encodable, Sendable {
        let id: Int64
        let type: String
        var title: String?
        var username: String?
        var first_name: String?
    }

    /// `getChat`'s answer: the chat with the fields Bot API 9 makes required.
    struct ChatFullInfo: Encodable, Sendable {
        let id: Int64
        let type: String
        var title: String?
        var username: String?
        var first_name: String?
        var description: String?
        var bio: String?
        let accent_color_id = 0
        let max_reaction_count = 11
        let accepted_gift_types = AcceptedGiftTypes()
    }

    struct AcceptedGiftTypes: Encodable, Sendable {
        let unlimited_gifts = false
        let limited_gifts = false
        let unique_gifts = false
        let premium_subscription = false
    }

    struct MessageEntity: Encodable, Sendable, Equatable {
        let type: String
        let offset: Int
        let length: Int
    }

    struct PhotoSize: Encodable, Sendable {
        let file_id: String
        let file_unique_id: String
        let width: Int
        let height: Int
        var file_size: Int64?
    }

    struct Document: Encodable, Sendable {
        let file_id: String
        let file_unique_id: String
        var file_name: String?
        var mime_type: String?
        var file_size: Int64?
    }

    struct Voice: Encodable, Sendable {
        let file_id: String
        let file_unique_id: String
        let duration: Int
        var mime_type: String?
        var file_size: Int64?
    }

    struct Video: Encodable, Sendable {
        let file_id: String
        let file_unique_id: String
        let width: Int
        let height: Int
        let duration: Int
        var mime_type: String?
        var file_size: Int64?
        var file_name: String?
    }

    /// `forward_origin` of a forwarded message: its first author, or hidden when not known.
    struct MessageOrigin: Encodable, Sendable {
        let type: String
        let date: Int64
        var sender_user: User?
        var sender_user_name: String?
    }

    final class Message: Encodable, Sendable {
        let message_id: Int64
        let from: User?
        let chat: Chat
        let date: Int64
        let edit_date: Int64?
        let text: String?
        let entities: [MessageEntity]?
        let caption: String?
        let caption_entities: [MessageEntity]?
        let photo: [PhotoSize]?
        let document: Document?
        let voice: Voice?
        let video: Video?
        let reply_to_message: Message?
        let forward_origin: MessageOrigin?
        let reply_markup: InlineKeyboard?

        init(
            message_id: Int64, from: User?, chat: Chat, date: Int64, edit_date: Int64?, text: String?, entities: [MessageEntity]?,
            caption: String?, caption_entities: [MessageEntity]?, photo: [PhotoSize]?, document: Document?, voice: Voice?, video: Video?,
            reply_to_message: Message?, forward_origin: MessageOrigin?, reply_markup: InlineKeyboard?
        ) {
            self.message_id = message_id
            self.from = from
            self.chat = chat
            self.date = date
            self.edit_date = edit_date
            self.text = text
            self.entities = entities
            self.caption = caption
            self.caption_entities = caption_entities
            self.photo = photo
            self.document = document
            self.voice = voice
            self.video = video
            self.reply_to_message = reply_to_message
            self.forward_origin = forward_origin
            self.reply_markup = reply_markup
        }
    }

    struct CallbackQuery: Encodable, Sendable {
        let id: String
        let from: User
        let message: Message?
        let chat_instance: String
        let data: String?
    }

    /// A member as `getChatMember` and `my_chat_member` describe it. Administrators carry every
    /// right field the libraries require; Courier's admins may do all of them in their chat.
    struct ChatMember: Encodable, Sendable {
        let status: String
        let user: User
        var is_anonymous: Bool?
        var can_be_edited: Bool?
        var can_manage_chat: Bool?
        var can_delete_messages: Bool?
        var can_manage_video_chats: Bool?
        var can_restrict_members: Bool?
        var can_promote_members: Bool?
        var can_change_info: Bool?
        var can_invite_users: Bool?
        var can_post_stories: Bool?
        var can_edit_stories: Bool?
        var can_delete_stories: Bool?

        init(status: String, user: User) {
            self.status = status
            self.user = user
            switch status {
            case "creator":
                is_anonymous = false
            case "administrator":
                is_anonymous = false
                can_be_edited = false
                can_manage_chat = true
                can_delete_messages = true
                can_manage_video_chats = true
                can_restrict_members = true
                can_promote_members = true
                can_change_info = true
                can_invite_users = true
                can_post_stories = false
                can_edit_stories = false
                can_delete_stories = false
            default:
                break
            }
        }
    }

    struct ChatMemberUpdated: Encodable, Sendable {
        let chat: Chat
        let from: User
        let date: Int64
        let old_chat_member: ChatMember
        let new_chat_member: ChatMember
    }

    struct Update: Encodable, Sendable {
        let update_id: Int64
        var message: Message?
        var edited_message: Message?
        var callback_query: CallbackQuery?
        var my_chat_member: ChatMemberUpdated?
    }

    struct File: Encodable, Sendable {
        let file_id: String
        let file_unique_id: String
        var file_size: Int64?
        var file_path: String?
    }

    struct WebhookInfo: Encodable, Sendable {
        let url: String
        let has_custom_certificate = false
        let pending_update_count: Int
        var last_error_date: Int64?
        var last_error_message: String?
        var allowed_updates: [String]?
    }

    struct BotCommand: Encodable, Sendable {
        let command: String
        let description: String
    }
}

import CourierCore
import CourierRealtime
import Foundation

/// An update as clients see it, live over WebSocket and when catching up (WebSocket `resume` and
/// `GET /api/v1/updates`): the same JSON either way.
///
/// Chat updates carry `chat_id` and their position `pts`; updates of the person's own log carry
/// `account_pts` (and `chat_joined` also the chat's `pts` to catch up from).
struct UpdateFrame: Encodable, Sendable {
    let type: String
    var chatID: String?
    var pts: Int64?
    var accountPTS: Int64?
    var message: MessageResponse?
    var messageID: String?
    var seq: Int64?
    var userID: String?
    /// Membership changes: the member, as a one-element list (the shape of earlier frames).
    var userIDs: [String]?
    var role: String?
    var isPremium: Bool?
    var sessionID: String?
    /// `reaction_changed`: the new emoji (absent: the reaction was taken back).
    var emoji: String?
    /// `reaction_changed`: the message's reactions now.
    var reactions: [ReactionResponse]?
    /// `chat_settings_changed`: the person's settings of the chat now.
    var pinnedAt: Timestamp?
    var mutedUntil: Timestamp?
    var archived: Bool?

    enum CodingKeys: String, CodingKey {
        case type, pts, message, seq, role, emoji, reactions, archived
        case pinnedAt = "pinned_at"
        case mutedUntil = "muted_until"
        case chatID = "chat_id"
        case accountPTS = "account_pts"
        case messageID = "message_id"
        case userID = "user_id"
        case userIDs = "user_ids"
        case isPremium = "is_premium"
        case sessionID = "session_id"
    }

    /// The frame of a chat update as someone sees it: message updates carry the message as it is
    /// now, except to a person who deleted it for themselves (`hiddenFromViewer`), who gets the
    /// update without it. Live delivery and catching up both build frames here.
    ///
    /// In channels reactions are counts only (`hideReactors`): who reacted is told to nobody but
    /// the person who did (`viewer`, when the frame is for one person; nil: for everyone else).
    init(_ update: ChatUpdate, message: Message?, hiddenFromViewer: Bool = false, hideReactors: Bool = false, viewer: UUID? = nil) {
        self.init(update, message: hiddenFromViewer ? nil : message, hideReactors: hideReactors, viewer: viewer)
    }

    /// The frame of a chat update; `message` is the message's current state for message updates.
    private init(_ update: ChatUpdate, message: Message?, hideReactors: Bool, viewer: UUID?) {
        type = update.kind.rawValue
        chatID = update.chatID.lowercasedString
        pts = update.pts
        switch update.kind {
        case .newMessage, .messageEdited:
            self.message = (hideReactors ? message?.withoutReactors() : message).map(MessageResponse.init)
        case .messageDeleted:
            messageID = update.messageID?.lowercasedString
            seq = update.value
        case .read:
            userID = update.userID?.lowercasedString
            seq = update.value
        case .memberAdded, .memberRemoved:
            userID = update.userID?.lowercasedString
            userIDs = update.userID.map { [$0.lowercasedString] }
        case .roleChanged:
            userID = update.userID?.lowercasedString
            role = update.detail
        case .chatUpdated:
            break
        case .reactionChanged:
            messageID = update.messageID?.lowercasedString
            seq = update.value
            emoji = update.detail
            if !hideReactors || (viewer != nil && viewer == update.userID) { userID = update.userID?.lowercasedString }
            let shown = hideReactors ? message?.withoutReactors() : message
            reactions = (shown?.reactions ?? []).map(ReactionResponse.init)
        case .messagePinned, .messageUnpinned:
            messageID = update.messageID?.lowercasedString
            seq = update.value
            userID = update.userID?.lowercasedString
        }
    }

    /// The frame of an update of a person's own log.
    init(_ update: AccountUpdate) {
        type = update.kind.rawValue
        accountPTS = update.pts
        chatID = update.chatID?.lowercasedString
        switch update.kind {
        case .chatJoined:
            pts = update.value
        case .chatLeft:
            break
        case .read:
            userID = update.userID.lowercasedString
            seq = update.value
        case .messageHidden:
            messageID = update.messageID?.lowercasedString
            seq = update.value
        case .premiumChanged:
            isPremium = update.value == 1
        case .sessionRevoked:
            sessionID = update.detail
        case .memberAdded, .memberRemoved:
            userID = update.subjectID?.lowercasedString
            userIDs = update.subjectID.map { [$0.lowercasedString] }
        case .roleChanged:
            userID = update.subjectID?.lowercasedString
            role = update.detail
        case .chatSettingsChanged:
            let settings = update.detail.flatMap(ChatListSettings.init(encoded:)) ?? ChatListSettings()
            pinnedAt = settings.pinnedAt
            mutedUntil = settings.mutedUntil
            archived = settings.archived
        case .draftChanged:
            break
        }
    }

    var text: String { ServerFrame.text(self) }

    /// Where the update stands in the log: its chat's stream, or `userID`'s own.
    func position(of userID: UUID) -> UpdatePosition? {
        if let accountPTS { return UpdatePosition(stream: userID, pts: accountPTS) }
        guard let chatID = chatID.flatMap(UUID.init(text:)), let pts else { return nil }
        return UpdatePosition(stream: chatID, pts: pts)
    }
}

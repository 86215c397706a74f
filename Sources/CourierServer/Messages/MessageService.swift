import CourierCore
import CourierStore
import Foundation

/// Sending, reading, editing, deleting and forwarding messages in chats and channels.
///
/// The REST routes and the WebSocket gateway both send through `send`, so validation, permissions,
/// idempotency, persistence and real-time fan-out are the same on every path. `connection` names
/// the WebSocket a change came from: it gets an ack instead of the fan-out frame.
public struct MessageService: Sendable {
    let messages: MessageStore
    let chats: ChatService
    let events: EventPublisher
    let relay: TelegramRelay
    let media: MediaService

    public init(messages: MessageStore, chats: ChatService, events: EventPublisher, relay: TelegramRelay, media: MediaService) {
        self.messages = messages
        self.chats = chats
        self.events = events
        self.relay = relay
        self.media = media
    }

    /// A sent message, and whether this call stored it (false when `client_msg_id` found an earlier
    /// one); `pts` is the position of its `new_message` update when this call stored it.
    public struct Sent: Sendable {
        public let message: Message
        public let created: Bool
        public var pts: Int64? = nil
    }

    /// Stores a message from `senderID`, then publishes it. Repeating a `client_msg_id` returns the first message.
    public func send(_ draft: MessageDraft, from senderID: UUID, connection: UUID? = nil) async throws -> Sent {
        // A repeated client_msg_id is found by the unique index when the insert fails (or by a look-up
        // when the sender may no longer post), not by a look-up before every send: retries are rare,
        // sends are not.
        var draft = draft
        if draft.replyToID != nil || !draft.attachments.isEmpty {
            // What a reply or an attachment is checked against must not be probed by outsiders:
            // the sender's right to post is looked up first. A plain message is checked in its
            // write (`MessageStore.append`), without a read of its own.
            do {
                try Self.requirePosting(try await chats.memberAccess(draft.chatID, for: senderID))
            } catch {
                if let earlier = try await earlierSend(of: draft, from: senderID) { return try await repeated(earlier) }
                throw error
            }
            try await checkReference(&draft, from: senderID)
        }
        do {
            let stored = try await store(draft, from: senderID, connection: connection)
            return Sent(message: stored.message, created: true, pts: stored.update.pts)
        } catch let refusal as MessageStore.PostingRefusal {
            // The ack of a stored message was lost, and the sender left or lost the right to post
            // before retrying: the retry still gets its message.
            if let earlier = try await earlierSend(of: draft, from: senderID) { return try await repeated(earlier) }
            throw Self.error(for: refusal)
        } catch where MessageStore.isDuplicateClientMessageID(error) {
            // A retry of a message already stored; the first one is the message.
            guard let earlier = try await earlierSend(of: draft, from: senderID) else { throw Self.clientMessageIDReused }
            return try await repeated(earlier)
        }
    }

    /// Checks a draft's reply target and makes its attachments the sender's media for this chat.
    private func checkReference(_ draft: inout MessageDraft, from senderID: UUID) async throws {
        if let replyTo = draft.replyToID {
            guard let original = try await messages.find(id: replyTo), original.chatID == draft.chatID else {
                throw CourierError.invalid("reply_to_id", "reply_to_id must be a message of the same chat.")
            }
        }
        if !draft.attachments.isEmpty {
            draft.media = try await media.attachable(draft.attachments, from: senderID, to: draft.chatID)
            // A message with media is of its first attachment's kind unless the client said otherwise.
            if draft.kind == .text, let first = draft.media.first { draft.kind = first.kind.messageKind }
        }
    }

    /// What a sender is told when the store refused their message: as `ChatService.memberAccess`
    /// and `requirePosting` tell it on every other path.
    private static func error(for refusal: MessageStore.PostingRefusal) -> CourierError {
        switch refusal {
        case .notMember: CourierError.notFound("chat")
        case .mayNotPost(let kind): ChatService.notAllowedToPost(in: kind)
        }
    }

    /// A `client_msg_id` names one send of its sender: using it again for another chat is a client
    /// bug, told apart from a retry (which gets the first message back).
    static let clientMessageIDReused = CourierError(
        .conflict, code: "client_msg_id_reused",
        message: "This client_msg_id was already used for a message in another chat; use a new one for each message.",
        field: "client_msg_id"
    )

    /// The answer to a repeated send: the first message, with its update's position (so the
    /// device's position moves on as after the first ack).
    private func repeated(_ earlier: Message) async throws -> Sent {
        Sent(message: earlier, created: false, pts: try await messages.newMessagePosition(of: earlier))
    }

    /// The message stored earlier for this draft's `client_msg_id` in the same chat, if any.
    private func earlierSend(of draft: MessageDraft, from senderID: UUID) async throws -> Message? {
        guard let clientID = draft.clientMessageID else { return nil }
        guard let earlier = try await messages.find(senderID: senderID, clientMessageID: clientID), earlier.chatID == draft.chatID else {
            return nil
        }
        return earlier
    }

    /// A page of a chat's history, for a member; anyone else is told there is no such chat, as
    /// `ChatService.memberAccess` tells them (the page's read checks the membership itself).
    public func history(of chatID: UUID, for userID: UUID, _ page: PageRequest) async throws -> MessagePage {
        guard let found = try await messages.page(of: chatID, for: userID, page) else { throw CourierError.notFound("chat") }
        var result = found.page
        result.messages = result.messages.map { $0.shown(in: found.chatKind) }
        return result
    }

    /// A message as stored now (with its reactions), without an access check: for answering a
    /// change the caller was allowed to make.
    func current(_ id: UUID) async throws -> Message? {
        try await messages.find(id: id)
    }

    /// The messages among `ids` that `userID` sees (not deleted for them), by id.
    func found(_ ids: [UUID], for userID: UUID) async throws -> [UUID: Message] {
        let found = try await messages.find(ids: ids)
        let hidden = try await messages.hidden(among: ids, for: userID)
        return found.filter { !hidden.contains($0.key) && !$0.value.isDeleted }
    }

    /// A single message the user may read.
    public func message(_ id: UUID, for userID: UUID) async throws -> (message: Message, access: ChatService.Membered) {
        guard let message = try await messages.find(id: id) else { throw CourierError.notFound("message") }
        let access: ChatService.Membered
        do {
            access = try await chats.memberAccess(message.chatID, for: userID)
        } catch let error as CourierError where error.kind == .notFound {
            throw CourierError.notFound("message")
        }
        guard try await !messages.isHidden(id, for: userID) else { throw CourierError.notFound("message") }
        // Channels show reactions as counts only: every path that answers with a message read here
        // (REST, WebSocket acks, Telegram references) gets it that way.
        return (message.shown(in: access.chat.kind), access)
    }

    /// Changes the text of one's own message, or of a channel post by the channel's admins. Returns
    /// the message as edited and the position of its `message_edited` update.
    ///
    /// `replyMarkup`, when given, is a bot's new buttons (`.some(nil)` removes them); people's edits leave metadata alone.
    public func edit(
        _ id: UUID, content rawContent: String, replyMarkup: JSONValue?? = nil, by userID: UUID, connection: UUID? = nil
    ) async throws -> (message: Message, pts: Int64) {
        let (message, access) = try await message(id, for: userID)
        guard ChatPolicy.canEdit(kind: access.chat.kind, role: access.membership.role, isSender: message.senderID == userID) else {
            let text = access.chat.kind == .channel ? "Only the channel's owner and admins edit its posts." : "Only the sender can edit a message."
            throw CourierError(.forbidden, code: "not_message_sender", message: text)
        }
        guard !message.isDeleted else { throw CourierError.notFound("message") }
        guard message.metadata?[MessageDraft.callRecordKey] == nil else {
            throw CourierError(.forbidden, code: "call_line_not_editable", message: "The line a call left cannot be edited.")
        }
        let content = MessageDraft.normalized(rawContent)
        try MessageDraft.validate(content: content, allowEmpty: message.kind != .text)
        var metadata: [String: JSONValue]?? = nil
        if case .some(let markup) = replyMarkup {
            var changed = message.metadata ?? [:]
            changed[MessageDraft.replyMarkupKey] = markup
            metadata = .some(changed.isEmpty ? nil : changed)
        }
        guard let edited = try await messages.edit(message, content: content, metadata: metadata, at: .now()) else { throw CourierError.notFound("message") }
        await events.stored(LoggedUpdates(chat: [edited.update]), messages: [edited.message], excluding: connection)
        return (edited.message.shown(in: access.chat.kind), edited.update.pts)
    }

    /// Whom a deletion is for: everyone in the chat, or only the one deleting.
    public enum DeleteScope: String, Sendable {
        case everyone
        case me

        /// The scope a client named (`for=everyone|me`, everyone when absent); the same answer on every transport.
        public static func parse(_ raw: String?) throws(CourierError) -> DeleteScope {
            guard let scope = DeleteScope(rawValue: raw ?? "everyone") else {
                throw CourierError(.badRequest, code: "invalid_parameter", message: "'for' must be everyone or me.", field: "for")
            }
            return scope
        }
    }

    /// Deletes a message for everyone (sender, or an admin of a group or channel) or only from the
    /// user's own view. Returns the position of the update it wrote: the chat's `message_deleted`,
    /// or the user's own `message_hidden` (`account: true`); nil when there was nothing to do.
    @discardableResult
    public func delete(
        _ id: UUID, for scope: DeleteScope, by userID: UUID, connection: UUID? = nil
    ) async throws -> (pts: Int64, account: Bool)? {
        let (message, access) = try await message(id, for: userID)
        guard scope == .everyone else {
            guard let hidden = try await messages.hide(message, for: userID, at: .now()) else { return nil }
            await events.stored(LoggedUpdates(account: [hidden]), excluding: connection)
            return (hidden.pts, true)
        }
        guard ChatPolicy.canDeleteForEveryone(kind: access.chat.kind, role: access.membership.role, isSender: message.senderID == userID) else {
            throw CourierError(.forbidden, code: "forbidden", message: "Only the sender or an admin can delete this message for everyone.")
        }
        guard !message.isDeleted, let deleted = try await messages.deleteForEveryone(id, at: .now()) else { return nil }
        await events.stored(LoggedUpdates(chat: [deleted.update]), messages: [deleted.message], excluding: connection)
        return (deleted.update.pts, false)
    }

    /// Sends a copy of a message into another chat, crediting the original author.
    public func forward(_ id: UUID, to rawChatID: String, by userID: UUID) async throws -> Message {
        guard let targetID = UUID(uuidString: rawChatID) else { throw CourierError.invalid("chat_id", "chat_id must be a chat id.") }
        let (original, _) = try await message(id, for: userID)
        guard !original.isDeleted else { throw CourierError.notFound("message") }
        let target = try await chats.memberAccess(targetID, for: userID)
        try Self.requirePosting(target)
        var draft = try MessageDraft(
            chatID: targetID, content: original.content, kind: original.kind, mediaURL: original.mediaURL,
            attachments: original.attachments, metadata: Self.forwardable(original.metadata)
        )
        // The forwarder can see the original, so its media go along as they are.
        draft.media = original.media
        let origin = MessageStore.ForwardOrigin(
            messageID: original.forwardedFromID ?? original.id, senderID: original.forwardedFromSenderID ?? original.senderID
        )
        do {
            return try await store(draft, from: userID, forwardedFrom: origin).message
        } catch let refusal as MessageStore.PostingRefusal {
            throw Self.error(for: refusal)
        }
    }

    /// Stores a message (with its update and its Telegram notices, in one transaction), then tells
    /// the subscribers of "update stored". The recipients are read with the chat's row taken (a
    /// small chat's in the transaction, a larger one's after the commit), so someone removed before
    /// the message was stored never gets it.
    private func store(
        _ draft: MessageDraft, from senderID: UUID, forwardedFrom origin: MessageStore.ForwardOrigin? = nil, connection: UUID? = nil
    ) async throws -> MessageStore.Appended {
        let stored = try await messages.append(draft, from: senderID, forwardedFrom: origin, at: .now(), alongside: relay.alongsideMessage)
        await events.stored(
            LoggedUpdates(chat: [stored.update]), messages: [stored.message], members: stored.members.map { [draft.chatID: $0] } ?? [:],
            excluding: connection
        )
        return stored
    }

    /// What of a message's metadata a forward carries: not a bot's buttons, which answer only under
    /// the bot's own message.
    private static func forwardable(_ metadata: [String: JSONValue]?) -> [String: JSONValue]? {
        let kept = metadata?.filter { $0.key != MessageDraft.replyMarkupKey }
        return kept?.isEmpty == true ? nil : kept
    }

    private static func requirePosting(_ access: ChatService.Membered) throws(CourierError) {
        guard ChatPolicy.canPost(kind: access.chat.kind, role: access.membership.role) else {
            throw ChatService.notAllowedToPost(in: access.chat.kind)
        }
    }
}

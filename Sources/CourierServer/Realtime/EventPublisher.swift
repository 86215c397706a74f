import CourierCore
import CourierRealtime
import CourierStore
import Foundation
import Logging

/// Turns what happened (a message stored, a read mark moved, …) into frames for the people
/// concerned, and publishes them on the bus.
///
/// Services call it after the change is committed. A failure to publish is logged, never reported
/// to the caller: the change is stored, and devices catch up with `resume`.
public struct EventPublisher: Sendable {
    let bus: any Bus
    let chats: ChatStore
    let logger: Logger

    public init(bus: any Bus, chats: ChatStore, logger: Logger) {
        self.bus = bus
        self.chats = chats
        self.logger = logger
    }

    /// A new message, to `members` (the chat's, read by the caller after the message was stored).
    func messageCreated(_ message: Message, to members: [UUID], excluding connection: UUID? = nil) async {
        await send(Delivery(
            recipients: members, frame: ServerFrame.newMessage(message),
            sequence: ChatSequence(chatID: message.chatID, seq: message.seq), excludedConnection: connection
        ))
    }

    func messageEdited(_ message: Message, excluding connection: UUID? = nil) async {
        let frame = ServerFrame.text(ServerFrame.NewMessage(type: "message_edited", message: MessageResponse(message)))
        await publish(frame, to: message.chatID, excluding: connection)
    }

    func messageDeleted(_ message: Message, excluding connection: UUID? = nil) async {
        let frame = ServerFrame.text(ServerFrame.MessageDeleted(chatID: message.chatID.apiString, messageID: message.id.apiString, seq: message.seq))
        await publish(frame, to: message.chatID, excluding: connection)
    }

    /// A read mark moved. In a channel only the reader's own devices hear of it: how far a
    /// subscriber has read is nobody else's business.
    func read(chatID: UUID, kind: ChatKind, by userID: UUID, upTo seq: Int64, excluding connection: UUID? = nil) async {
        let frame = ServerFrame.text(ServerFrame.Read(chatID: chatID.apiString, userID: userID.apiString, seq: seq))
        if kind == .channel {
            await send(Delivery(recipients: [userID], frame: frame, excludedConnection: connection))
        } else {
            await publish(frame, to: chatID, excluding: connection)
        }
    }

    func typing(chatID: UUID, kind: ChatKind, by userID: UUID) async {
        let frame = ServerFrame.text(ServerFrame.Typing(chatID: chatID.apiString, userID: userID.apiString))
        await publish(frame, to: chatID, kind: kind, concerning: [], except: userID)
    }

    /// A membership change, to the people it concerns (`users`, and `alsoTo`: someone who just left)
    /// and to those who may see the member list: everyone in a group, the owner and admins of a
    /// channel, whose subscribers never learn about each other.
    func membership(_ type: String, chatID: UUID, kind: ChatKind, users: [UUID], alsoTo extra: [UUID] = []) async {
        let frame = ServerFrame.text(ServerFrame.Membership(type: type, chatID: chatID.apiString, userIDs: users.map(\.apiString)))
        await publish(frame, to: chatID, kind: kind, concerning: users + extra)
    }

    /// The chat's name or description changed: public to everyone in it, subscribers included.
    func chatUpdated(_ chatID: UUID) async {
        let frame = ServerFrame.text(ServerFrame.Membership(type: "chat_updated", chatID: chatID.apiString, userIDs: []))
        await publish(frame, to: chatID)
    }

    func presence(of userID: UUID, online: Bool, lastSeen: Timestamp?, to recipients: [UUID]) async {
        guard !recipients.isEmpty else { return }
        let frame = ServerFrame.text(ServerFrame.Presence(userID: userID.apiString, online: online, lastSeen: lastSeen))
        await send(Delivery(recipients: recipients, frame: frame))
    }

    /// Publishes `frame` to the chat's members, or for a channel of `kind` to its owner and admins
    /// and the people `concerning`.
    private func publish(
        _ frame: String, to chatID: UUID, kind: ChatKind? = nil, concerning: [UUID] = [], excluding connection: UUID? = nil,
        except user: UUID? = nil
    ) async {
        do {
            let audience = kind == .channel ? try await chats.managerIDs(of: chatID) : try await chats.memberIDs(of: chatID)
            var recipients = Array(Set(audience + concerning))
            if let user { recipients.removeAll { $0 == user } }
            await send(Delivery(recipients: recipients, frame: frame, excludedConnection: connection))
        } catch {
            logger.warning("event not published", metadata: ["chat_id": "\(chatID)", "error": "\(error)"])
        }
    }

    /// Device sessions were signed out: every node closes their sockets.
    func sessionsEnded(_ ended: SessionsEnded) async {
        await publish(.sessionsEnded(ended))
    }

    private func send(_ delivery: Delivery) async {
        await publish(.delivery(delivery))
    }

    private func publish(_ event: BusEvent) async {
        do {
            try await bus.publish(event)
        } catch {
            logger.warning("event not published", metadata: ["error": "\(error)"])
        }
    }
}

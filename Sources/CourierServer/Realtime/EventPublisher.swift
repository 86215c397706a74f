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

    /// A new message, to `members` (the chat's, read by the caller while the message was stored).
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

    func read(chatID: UUID, by userID: UUID, upTo seq: Int64, excluding connection: UUID? = nil) async {
        let frame = ServerFrame.text(ServerFrame.Read(chatID: chatID.apiString, userID: userID.apiString, seq: seq))
        await publish(frame, to: chatID, excluding: connection)
    }

    func typing(chatID: UUID, by userID: UUID) async {
        let frame = ServerFrame.text(ServerFrame.Typing(chatID: chatID.apiString, userID: userID.apiString))
        await publish(frame, to: chatID, except: userID)
    }

    /// A membership change, to the chat's members and to `alsoTo` (someone who just left).
    func membership(_ type: String, chatID: UUID, users: [UUID], alsoTo extra: [UUID] = []) async {
        let frame = ServerFrame.text(ServerFrame.Membership(type: type, chatID: chatID.apiString, userIDs: users.map(\.apiString)))
        await publish(frame, to: chatID, alsoTo: extra)
    }

    /// A channel gained or lost a subscriber: told to its owner and admins (who see the count) and
    /// to the subscriber's own devices, never to every other subscriber.
    func audienceChanged(_ type: String, channelID: UUID, subscriber: UUID) async {
        do {
            let managers = try await chats.managerIDs(of: channelID)
            let frame = ServerFrame.text(ServerFrame.Membership(type: type, chatID: channelID.apiString, userIDs: [subscriber.apiString]))
            await send(Delivery(recipients: Array(Set(managers + [subscriber])), frame: frame))
        } catch {
            logger.warning("event not published", metadata: ["chat_id": "\(channelID)", "error": "\(error)"])
        }
    }

    func presence(of userID: UUID, online: Bool, lastSeen: Timestamp?, to recipients: [UUID]) async {
        guard !recipients.isEmpty else { return }
        let frame = ServerFrame.text(ServerFrame.Presence(userID: userID.apiString, online: online, lastSeen: lastSeen))
        await send(Delivery(recipients: recipients, frame: frame))
    }

    private func publish(
        _ frame: String, to chatID: UUID, sequence: ChatSequence? = nil, excluding connection: UUID? = nil,
        except user: UUID? = nil, alsoTo extra: [UUID] = []
    ) async {
        do {
            var recipients = try await chats.memberIDs(of: chatID) + extra
            if let user { recipients.removeAll { $0 == user } }
            await send(Delivery(recipients: recipients, frame: frame, sequence: sequence, excludedConnection: connection))
        } catch {
            logger.warning("event not published", metadata: ["chat_id": "\(chatID)", "error": "\(error)"])
        }
    }

    private func send(_ delivery: Delivery) async {
        do {
            try await bus.publish(delivery)
        } catch {
            logger.warning("event not published", metadata: ["error": "\(error)"])
        }
    }
}

import CourierCore
import Foundation
import SQLKit

// Decoding of domain values from rows, shared by the repositories. A `prefix` reads the same
// columns under aliases (`lm_id`, …) when a query joins a second row of the same table.

extension Chat {
    static let columns = "id, type, name, owner_id, last_seq, member_count, last_activity_at, created_at, updated_at, last_pts"

    static func columns(of table: String) -> String {
        columns.split(separator: ",").map { "\(table).\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", ")
    }

    init(row: any SQLRow) throws {
        self.init(
            id: try row.decode(column: "id", as: UUID.self),
            kind: try row.decodeEnum(column: "type", as: ChatKind.self),
            name: try row.decode(column: "name", as: String?.self),
            ownerID: try row.decode(column: "owner_id", as: UUID?.self),
            lastSeq: try row.decode(column: "last_seq", as: Int64.self),
            memberCount: try row.decode(column: "member_count", as: Int.self),
            lastActivityAt: try row.decodeTimestamp(column: "last_activity_at"),
            createdAt: try row.decodeTimestamp(column: "created_at"),
            updatedAt: try row.decodeTimestamp(column: "updated_at"),
            pts: try row.decode(column: "last_pts", as: Int64.self)
        )
    }
}

extension ChatMembership {
    static let columns = "chat_id, user_id, role, joined_at, last_read_seq"

    init(row: any SQLRow, prefix: String = "") throws {
        self.init(
            chatID: try row.decode(column: prefix + "chat_id", as: UUID.self),
            userID: try row.decode(column: prefix + "user_id", as: UUID.self),
            role: try row.decodeEnum(column: prefix + "role", as: ChatRole.self),
            joinedAt: try row.decodeTimestamp(column: prefix + "joined_at"),
            lastReadSeq: try row.decode(column: prefix + "last_read_seq", as: Int64.self)
        )
    }
}

extension Message {
    static let columnNames = [
        "id", "chat_id", "seq", "sender_id", "content", "message_type", "media_url", "attachments", "metadata", "reply_to_id",
        "forwarded_from_id", "forwarded_from_sender_id", "client_msg_id", "created_at", "updated_at", "edited_at", "deleted_at",
    ]
    static let columns = columnNames.joined(separator: ", ")

    /// The columns of table alias `table`, renamed with `prefix`.
    static func columns(of table: String, prefix: String) -> String {
        columnNames.map { "\(table).\($0) AS \(prefix)\($0)" }.joined(separator: ", ")
    }

    /// A message from its row and its opened (decrypted) content fields.
    init(row: any SQLRow, prefix: String, opened: MessageCipher.OpenedFields) throws {
        func column(_ name: String) -> String { prefix + name }
        let attached = try Self.decodeAttachments(opened.attachments)
        self.init(
            id: try row.decode(column: column("id"), as: UUID.self),
            chatID: try row.decode(column: column("chat_id"), as: UUID.self),
            seq: try row.decode(column: column("seq"), as: Int64.self),
            senderID: try row.decode(column: column("sender_id"), as: UUID?.self),
            content: opened.content,
            kind: try row.decodeEnum(column: column("message_type"), as: MessageKind.self),
            mediaURL: opened.mediaURL,
            attachments: attached.ids,
            metadata: try opened.metadata.map { try JSONDecoder().decode([String: JSONValue].self, from: Data($0.utf8)) },
            replyToID: try row.decode(column: column("reply_to_id"), as: UUID?.self),
            forwardedFromID: try row.decode(column: column("forwarded_from_id"), as: UUID?.self),
            forwardedFromSenderID: try row.decode(column: column("forwarded_from_sender_id"), as: UUID?.self),
            clientMessageID: try row.decode(column: column("client_msg_id"), as: String?.self),
            createdAt: try row.decodeTimestamp(column: column("created_at")),
            updatedAt: try row.decodeTimestamp(column: column("updated_at")),
            editedAt: try row.decode(column: column("edited_at"), as: Int64?.self).map(Timestamp.init(milliseconds:)),
            deletedAt: try row.decode(column: column("deleted_at"), as: Int64?.self).map(Timestamp.init(milliseconds:)),
            media: attached.media
        )
    }

    /// The `attachments` column: the attachments' descriptions (JSON array of objects) since media
    /// exist; before, a JSON array of ids that pointed at nothing.
    static func decodeAttachments(_ text: String?) throws -> (ids: [String], media: [MediaAttachment]) {
        guard let text else { return ([], []) }
        let data = Data(text.utf8)
        if let media = try? JSONDecoder().decode([MediaAttachment].self, from: data) {
            return (media.map(\.id), media)
        }
        return (try JSONDecoder().decode([String].self, from: data), [])
    }
}

extension SQLRow {
    func decodeTimestamp(column: String) throws -> Timestamp {
        Timestamp(milliseconds: try decode(column: column, as: Int64.self))
    }

    func decodeEnum<T: RawRepresentable>(column: String, as type: T.Type) throws -> T where T.RawValue == String {
        let raw = try decode(column: column, as: String.self)
        guard let value = T(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "Unexpected \(column) '\(raw)'"))
        }
        return value
    }

}

/// Text for a JSON column, or nil.
func jsonText(_ value: some Encodable) throws -> String {
    String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
}

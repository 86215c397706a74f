import CourierCore
import Foundation
import SQLKit

/// Seals a message's content fields for storage and opens them when read: `content`, `media_url`,
/// `attachments` and `metadata` are ciphertext in the database, bound to their message and chat.
public struct MessageCipher: Sendable {
    let keyring: Keyring

    public init(keyring: Keyring) { self.keyring = keyring }

    /// The content fields as stored.
    struct SealedFields: Sendable {
        let content: String
        let mediaURL: String?
        let attachments: String?
        let metadata: String?
    }

    /// The content fields as plaintext (`attachments` and `metadata` as JSON text).
    public struct OpenedFields: Sendable {
        let content: String
        let mediaURL: String?
        let attachments: String?
        let metadata: String?
    }

    func seal(_ fields: OpenedFields, messageID: UUID, chatID: UUID) async throws -> SealedFields {
        func context(_ field: String) -> Keyring.FieldContext {
            .init(table: "messages", rowID: messageID, scope: .chat(chatID), field: field)
        }
        return SealedFields(
            content: try await keyring.seal(fields.content, context("content")) ?? "",
            mediaURL: try await keyring.seal(fields.mediaURL, context("media_url")),
            attachments: try await keyring.seal(fields.attachments, context("attachments")),
            metadata: try await keyring.seal(fields.metadata, context("metadata"))
        )
    }

    /// The sealed text of a new content (an edit).
    func sealContent(_ content: String, messageID: UUID, chatID: UUID) async throws -> String {
        try await keyring.seal(content, .init(table: "messages", rowID: messageID, scope: .chat(chatID), field: "content")) ?? ""
    }

    /// The sealed JSON of new metadata (a bot's edit that changes its buttons).
    func sealMetadata(_ metadata: String?, messageID: UUID, chatID: UUID) async throws -> String? {
        try await keyring.seal(metadata, .init(table: "messages", rowID: messageID, scope: .chat(chatID), field: "metadata"))
    }

    /// Decodes a message row (its columns under `prefix`) and opens its content fields.
    func message(from row: any SQLRow, prefix: String = "") async throws -> Message {
        let id = try row.decode(column: prefix + "id", as: UUID.self)
        let chatID = try row.decode(column: prefix + "chat_id", as: UUID.self)
        func open(_ field: String) async throws -> String? {
            try await keyring.open(
                try row.decode(column: prefix + field, as: String?.self),
                .init(table: "messages", rowID: id, scope: .chat(chatID), field: field)
            )
        }
        let opened = OpenedFields(
            content: try await open("content") ?? "", mediaURL: try await open("media_url"),
            attachments: try await open("attachments"), metadata: try await open("metadata")
        )
        return try Message(row: row, prefix: prefix, opened: opened)
    }

    func messages(from rows: [any SQLRow]) async throws -> [Message] {
        var messages: [Message] = []
        messages.reserveCapacity(rows.count)
        for row in rows { messages.append(try await message(from: row)) }
        return messages
    }
}

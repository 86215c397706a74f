import CourierCore
import Crypto
import Foundation
import NIOCore

/// Sending and fetching files: an upload goes through the media pipeline as a person's does
/// (encrypted, photos re-encoded, voice notes measured), under the bot's name and quota.
extension BotAPIMethods {
    func sendPhoto(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        try await sendFile(bot, arguments, field: "photo", kind: .photo)
    }

    func sendDocument(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        try await sendFile(bot, arguments, field: "document", kind: .file)
    }

    func sendVoice(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        try await sendFile(bot, arguments, field: "voice", kind: .voice)
    }

    func sendVideo(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.Message {
        try await sendFile(bot, arguments, field: "video", kind: .video)
    }

    /// A file message: the file uploaded in the request, or one sent before named by its file id
    /// (which the media service lets the bot send only if it may see it).
    private func sendFile(_ bot: BotService.Identity, _ arguments: BotAPIArguments, field: String, kind: MediaKind) async throws -> TelegramObjects.Message {
        let chat = try await chat(arguments, for: bot)
        let caption = try arguments.string("caption") ?? ""
        guard caption.count <= 1024 else { throw BotCallError.badRequest("message caption is too long") }
        let mediaID: String
        if let file = arguments.files[field] {
            mediaID = try await upload(file, kind: kind, for: bot).id
        } else if let reference = try arguments.string(field), reference.hasPrefix("attach://") {
            // The file in another part of the body, named here (aiogram sends every upload so).
            guard let file = arguments.files[String(reference.dropFirst("attach://".count))] else {
                throw BotCallError.badRequest("there is no \(field) in the request")
            }
            mediaID = try await upload(file, kind: kind, for: bot).id
        } else if let reference = try arguments.string(field), !reference.isEmpty {
            guard !reference.lowercased().hasPrefix("http://"), !reference.lowercased().hasPrefix("https://") else {
                throw BotCallError.badRequest("sending files by URL is not supported by this server; upload the file")
            }
            guard let parsed = TelegramRenderer.parseFileID(reference) else { throw BotCallError.badRequest("wrong file identifier/HTTP URL specified") }
            mediaID = parsed.mediaID.lowercasedString
        } else {
            throw BotCallError.badRequest("there is no \(field) in the request")
        }
        var draft = try MessageDraft(
            chatID: chat.chat.id, content: caption, attachments: [mediaID], replyToID: try await replyTarget(arguments, in: chat)
        )
        if case .some(let keyboard?) = try keyboard(arguments) { draft.metadata = [MessageDraft.replyMarkupKey: keyboard.jsonValue] }
        let sent = try await messages.send(draft, from: bot.userID)
        let renderer = renderer(for: bot)
        guard let object = try await renderer.chat(id: sent.message.chatID) else { throw BotCallError.chatNotFound }
        return try await renderer.message(sent.message, in: object)
    }

    private func upload(_ file: BotAPIArguments.File, kind: MediaKind, for bot: BotService.Identity) async throws -> MediaAttachment {
        guard !file.bytes.isEmpty else { throw BotCallError.badRequest("file must be non-empty") }
        let sha256 = Data(SHA256.hash(data: file.bytes)).hexString
        let mimeType = Self.mimeType(of: file, kind: kind)
        let name = file.fileName.flatMap { $0.isEmpty ? nil : $0 } ?? "\(kind.rawValue)\(Self.fileExtension(mimeType))"
        let record = try await media.createUpload(
            .init(size: Int64(file.bytes.count), mimeType: mimeType, fileName: name, sha256: sha256, kind: kind), for: bot.userID
        )
        let body = AsyncStream<ByteBuffer> { continuation in
            continuation.yield(ByteBuffer(bytes: file.bytes))
            continuation.finish()
        }
        _ = try await media.append(to: record.id, at: 0, declaredLength: Int64(file.bytes.count), body: body, for: bot.userID)
        return try await media.complete(record.id, for: bot.userID)
    }

    /// The file's type: from its first bytes for the formats the pipeline takes (libraries often
    /// send `application/octet-stream`), else what the part says.
    static func mimeType(of file: BotAPIArguments.File, kind: MediaKind) -> String {
        let head = Array(file.bytes.prefix(12))
        func starts(_ bytes: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + bytes.count && Array(head[offset..<(offset + bytes.count)]) == bytes
        }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if starts(Array("GIF8".utf8)) { return "image/gif" }
        if starts(Array("RIFF".utf8)), starts(Array("WEBP".utf8), at: 8) { return "image/webp" }
        if starts(Array("OggS".utf8)) { return "audio/ogg" }
        if starts(Array("ID3".utf8)) || starts([0xFF, 0xFB]) { return "audio/mpeg" }
        if starts(Array("ftyp".utf8), at: 4) { return kind == .voice ? "audio/mp4" : "video/mp4" }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) { return "video/webm" }
        let declared = file.contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return declared.flatMap { $0.isEmpty ? nil : $0 } ?? "application/octet-stream"
    }

    private static func fileExtension(_ mimeType: String) -> String {
        switch mimeType {
        case "image/jpeg": ".jpg"
        case "image/png": ".png"
        case "audio/ogg": ".ogg"
        case "video/mp4": ".mp4"
        default: ""
        }
    }

    /// A file the bot may download: its size, and the path under `/file/bot<token>/`.
    func getFile(_ bot: BotService.Identity, _ arguments: BotAPIArguments) async throws -> TelegramObjects.File {
        let fileID = try arguments.requiredString("file_id")
        guard let parsed = TelegramRenderer.parseFileID(fileID), parsed.variant.map(MediaVariant.isValidName) ?? true else {
            throw BotCallError.badRequest("invalid file_id")
        }
        let download: MediaService.Download
        do {
            download = try await media.download(parsed.mediaID, variant: parsed.variant, for: bot.userID)
        } catch let error as CourierError where error.kind == .notFound || error.kind == .forbidden {
            throw BotCallError.badRequest("invalid file_id")
        }
        return TelegramObjects.File(
            file_id: fileID, file_unique_id: fileID, file_size: download.variant.size,
            file_path: "media/\(parsed.mediaID.lowercasedString)/\(download.variant.name)"
        )
    }
}

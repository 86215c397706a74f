import CourierCore
import CourierStore
import Foundation
import Hummingbird

/// `POST /uploads`: what the client declares before sending bytes.
struct CreateUploadRequest: Decodable {
    let size: Int64
    let mimeType: String
    let fileName: String
    let sha256: String
    let kind: String?

    enum CodingKeys: String, CodingKey {
        case size, sha256, kind
        case mimeType = "mime_type"
        case fileName = "file_name"
    }

    func validated() throws(CourierError) -> MediaService.UploadRequest {
        let kind = kind.map { MediaKind(rawValue: $0) } ?? .file
        guard let kind else { throw .invalid("kind", "kind must be one of photo, video, voice, file.") }
        return .init(size: size, mimeType: mimeType, fileName: fileName, sha256: sha256, kind: kind)
    }
}

/// An upload in progress: where to send the next byte.
struct UploadResponse: ResponseEncodable {
    let id: String
    let kind: MediaKind
    let offset: Int64
    let size: Int64
    let chunkSize: Int
    let expiresAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case id, kind, offset, size
        case chunkSize = "chunk_size"
        case expiresAt = "expires_at"
    }

    init(_ record: MediaStore.Record) {
        id = record.id.lowercasedString
        kind = record.kind
        offset = record.received
        size = record.size
        chunkSize = MediaCipher.chunkSize
        expiresAt = record.expiresAt
    }
}

/// A media file as clients see it: its description plus when it was uploaded.
struct MediaResponse: ResponseEncodable {
    let attachment: MediaAttachment
    let createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case createdAt = "created_at"
    }

    func encode(to encoder: any Encoder) throws {
        try attachment.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// `GET /media/{id}/link`: a download link that needs no token, for `<img src>` and the like.
struct MediaLinkResponse: ResponseEncodable {
    let url: String
    let expiresAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case url
        case expiresAt = "expires_at"
    }
}

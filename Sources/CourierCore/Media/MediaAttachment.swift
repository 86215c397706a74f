import Foundation

/// What a client needs to show a media file without asking for it first: its kind, type, name,
/// size, dimensions, duration, voice waveform, a tiny inline preview and the variants it can
/// download. Stored sealed with the media and copied into each message that carries it.
public struct MediaAttachment: Sendable, Codable, Equatable {
    /// The media id, in the lowercase form the API uses.
    public var id: String
    public var kind: MediaKind
    public var mimeType: String
    public var size: Int64
    public var fileName: String
    public var width: Int?
    public var height: Int?
    /// Seconds, for videos and voice notes.
    public var duration: Double?
    /// About 100 levels from 0 to 31, for voice notes (as Telegram draws them).
    public var waveform: [UInt8]?
    /// A tiny JPEG as a `data:` URL, drawn blurred until the real image arrives.
    public var preview: String?
    public var variants: [MediaVariant]

    public init(
        id: UUID, kind: MediaKind, mimeType: String, size: Int64, fileName: String, width: Int? = nil, height: Int? = nil,
        duration: Double? = nil, waveform: [UInt8]? = nil, preview: String? = nil, variants: [MediaVariant] = []
    ) {
        self.id = id.lowercasedString
        self.kind = kind
        self.mimeType = mimeType
        self.size = size
        self.fileName = fileName
        self.width = width
        self.height = height
        self.duration = duration
        self.waveform = waveform
        self.preview = preview
        self.variants = variants
    }

    /// The variant served when a client names none: the largest photo size, otherwise the file.
    public var defaultVariant: String {
        kind == .photo ? (variants.first { $0.name == MediaVariant.largestPhoto }?.name ?? variants.first?.name ?? MediaVariant.original) : MediaVariant.original
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, size, width, height, duration, waveform, preview, variants
        case mimeType = "mime_type"
        case fileName = "file_name"
    }
}

/// One downloadable form of a media file: the file itself (`original`), a photo size, a poster.
public struct MediaVariant: Sendable, Codable, Equatable {
    public var name: String
    public var mimeType: String
    public var size: Int64
    public var width: Int?
    public var height: Int?

    public init(name: String, mimeType: String, size: Int64, width: Int? = nil, height: Int? = nil) {
        self.name = name
        self.mimeType = mimeType
        self.size = size
        self.width = width
        self.height = height
    }

    public static let original = "original"
    public static let largestPhoto = "x1280"

    /// Variant names are short identifiers (`s320`, `720p`), never paths.
    public static func isValidName(_ name: String) -> Bool {
        (1...16).contains(name.utf8.count) && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f }
    }

    enum CodingKeys: String, CodingKey {
        case name, size, width, height
        case mimeType = "mime_type"
    }
}

/// What an uploaded file is, as its uploader declared it: it decides how the server processes it
/// (photos are re-encoded into sized variants, videos get a poster, voice notes a waveform) and
/// which kind of message carries it.
public enum MediaKind: String, Sendable, Codable, CaseIterable {
    case photo, video, voice, file

    /// The kind of message a first attachment of this kind makes.
    public var messageKind: MessageKind {
        switch self {
        case .photo: .image
        case .video: .video
        case .voice: .audio
        case .file: .file
        }
    }
}

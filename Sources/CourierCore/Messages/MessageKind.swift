/// The kind of content a message carries.
public enum MessageKind: String, Sendable, Codable, CaseIterable {
    case text, image, video, audio, file
}

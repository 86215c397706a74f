import Foundation

/// The one check of links people give (avatars, media): http(s), with a host, within a size.
public enum WebURL {
    public static func isValid(_ text: String, maxBytes: Int) -> Bool {
        guard text.utf8.count <= maxBytes, let url = URLComponents(string: text) else { return false }
        return ["http", "https"].contains(url.scheme?.lowercased() ?? "") && url.host?.isEmpty == false
    }
}

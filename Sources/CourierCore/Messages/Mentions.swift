/// `@username` in a message's text: the usernames it names (lowercased, each once, at most
/// `maxPerMessage`). Whether one is a mention (a member of the chat, not the sender) is decided
/// where the message is stored.
public enum Mentions {
    public static let maxPerMessage = 20

    public static func usernames(in text: String) -> [String] {
        var found: [String] = []
        let characters = Array(text)
        var index = 0
        while index < characters.count, found.count < maxPerMessage {
            defer { index += 1 }
            guard characters[index] == "@", index == 0 || !isNameCharacter(characters[index - 1]) else { continue }
            var end = index + 1
            while end < characters.count, isNameCharacter(characters[end]) { end += 1 }
            let name = String(characters[(index + 1)..<end]).lowercased()
            if Username.lengths.contains(name.count), !found.contains(name) { found.append(name) }
            index = end - 1
        }
        return found
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "_")
    }
}

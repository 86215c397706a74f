/// A command a bot offers in the `/` menu (`setMyCommands`), with Telegram's limits.
public struct BotCommand: Sendable, Equatable, Codable {
    public let command: String
    public let description: String

    /// At most this many commands a bot.
    public static let maxCount = 100

    public init(command: String, description: String) throws(CourierError) {
        let command = command.hasPrefix("/") ? String(command.dropFirst()) : command
        guard (1...32).contains(command.count),
              command.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else {
            throw .invalid("commands", "A command is 1 to 32 characters of a-z, 0-9 and _.")
        }
        guard (1...256).contains(description.count) else {
            throw .invalid("commands", "A command's description is 1 to 256 characters.")
        }
        self.command = command
        self.description = description
    }
}

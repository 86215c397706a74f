/// A person's own settings of a chat in their list: pinned to the top (since when), muted (until
/// when; `forever` far in the future), archived. Each person's alone, synced across their devices.
public struct ChatListSettings: Sendable, Equatable {
    public var pinnedAt: Timestamp?
    public var mutedUntil: Timestamp?
    public var archived: Bool

    public init(pinnedAt: Timestamp? = nil, mutedUntil: Timestamp? = nil, archived: Bool = false) {
        self.pinnedAt = pinnedAt
        self.mutedUntil = mutedUntil
        self.archived = archived
    }

    /// "Muted forever": the year 9999.
    public static let forever = Timestamp(milliseconds: 253_402_300_799_000)
    /// Chats one person may pin to the top (premium or not).
    public static let maxPinned = 10

    public func isMuted(at time: Timestamp = .now()) -> Bool { mutedUntil.map { $0 > time } ?? false }

    /// How long a mute lasts, as clients ask for it: `1h`, `8h`, `forever`, or `off`.
    public static func muteEnd(_ choice: String, from time: Timestamp = .now()) throws(CourierError) -> Timestamp? {
        switch choice {
        case "1h": time.adding(seconds: 3600)
        case "8h": time.adding(seconds: 8 * 3600)
        case "forever": forever
        case "off": nil
        default: throw CourierError.invalid("mute", "mute must be 1h, 8h, forever or off.")
        }
    }

    /// The settings in one short line, for the update that tells the person's devices: `p=<ms>;m=<ms>;a=1`.
    public var encoded: String {
        "p=\(pinnedAt?.milliseconds ?? 0);m=\(mutedUntil?.milliseconds ?? 0);a=\(archived ? 1 : 0)"
    }

    public init?(encoded: String) {
        var values: [Substring: Int64] = [:]
        for part in encoded.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let value = Int64(pair[1]) else { return nil }
            values[pair[0]] = value
        }
        guard let pinned = values["p"], let muted = values["m"], let archived = values["a"] else { return nil }
        self.init(
            pinnedAt: pinned == 0 ? nil : Timestamp(milliseconds: pinned), mutedUntil: muted == 0 ? nil : Timestamp(milliseconds: muted),
            archived: archived == 1
        )
    }
}

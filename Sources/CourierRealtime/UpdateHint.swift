import Foundation

/// What one node tells the others after it stored updates: where they are in the log, never what
/// they say. Each node with interested sockets reads them from the database, which stays the only
/// place content is kept (encrypted); Redis, which carries the hint, never sees a message.
public struct UpdateHint: Sendable, Codable, Equatable {
    /// The positions stored in chat logs, by chat.
    public var chats: [StoredRange]
    /// The positions stored in people's own logs, by person.
    public var accounts: [StoredRange]
    /// Whether a new message is among them (the Telegram relay's sender, on whichever node it runs,
    /// wakes up for it).
    public var hasNewMessage: Bool

    public init(chats: [StoredRange], accounts: [StoredRange], hasNewMessage: Bool) {
        self.chats = chats
        self.accounts = accounts
        self.hasNewMessage = hasNewMessage
    }

    public var isEmpty: Bool { chats.isEmpty && accounts.isEmpty }
}

/// Positions `first...last` of one stream of the update log (a chat's, or a person's own).
public struct StoredRange: Sendable, Codable, Hashable {
    public var stream: UUID
    public var first: Int64
    public var last: Int64

    public init(stream: UUID, first: Int64, last: Int64) {
        self.stream = stream
        self.first = first
        self.last = last
    }

    /// The ranges covering `positions`: one per stream and run of consecutive positions.
    public static func covering(_ positions: [(stream: UUID, pts: Int64)]) -> [StoredRange] {
        var ranges: [StoredRange] = []
        for (stream, pts) in Dictionary(grouping: positions, by: \.stream).mapValues({ $0.map(\.pts).sorted() })
            .sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            for position in pts {
                if let last = ranges.last, last.stream == stream, position <= last.last + 1 {
                    ranges[ranges.count - 1].last = max(last.last, position)
                } else {
                    ranges.append(StoredRange(stream: stream, first: position, last: position))
                }
            }
        }
        return ranges
    }
}

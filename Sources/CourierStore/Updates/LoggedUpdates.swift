import CourierCore

/// The update-log entries one change wrote, handed back to the service that made the change so it
/// can announce them ("update stored") once the transaction has committed.
public struct LoggedUpdates: Sendable, Equatable {
    public var chat: [ChatUpdate]
    public var account: [AccountUpdate]

    public init(chat: [ChatUpdate] = [], account: [AccountUpdate] = []) {
        self.chat = chat
        self.account = account
    }

    public var isEmpty: Bool { chat.isEmpty && account.isEmpty }

    public static func + (lhs: LoggedUpdates, rhs: LoggedUpdates) -> LoggedUpdates {
        LoggedUpdates(chat: lhs.chat + rhs.chat, account: lhs.account + rhs.account)
    }
}

import CourierCore
import CourierStore
import Foundation

/// Catching up: every update after the positions a device holds, in order, at most once, in
/// bounded pages (Telegram's `updates.getDifference`). WebSocket `resume` and
/// `GET /api/v1/updates` both answer through `difference`.
public struct SyncService: Sendable {
    let updates: UpdateStore
    let messages: MessageStore
    let chats: ChatStore
    /// Counts catch-ups and `too_long`s.
    var metrics: ServerMetrics?

    /// Chats one request may name.
    public static let maxChats = 500
    /// Updates one page holds by default and at most.
    public static let defaultLimit = 100
    public static let maxLimit = 500

    public init(updates: UpdateStore, messages: MessageStore, chats: ChatStore) {
        self.updates = updates
        self.messages = messages
        self.chats = chats
    }

    /// What a device holds: its position in its own log (nil: it has none yet) and in each chat.
    public struct Positions: Sendable {
        public var account: Int64?
        public var chats: [UUID: Int64]

        public init(account: Int64?, chats: [UUID: Int64]) {
            self.account = account
            self.chats = chats
        }
    }

    /// One page of what a device missed.
    struct Difference: Sendable {
        /// The updates, in order: the person's own first, then each chat's in `pts` order.
        var updates: [UpdateFrame] = []
        /// The device's position in its own log after applying `updates`.
        var accountPTS: Int64 = 0
        /// Per chat asked for, the position after applying `updates` (for a chat to reload: its newest).
        var chats: [UUID: Int64] = [:]
        /// Chats further behind than the log keeps: reload them (history and summary).
        var tooLong: [UUID] = []
        /// Chats whose position the server never issued (ahead of the chat): reload them too.
        var invalidPosition: [UUID] = []
        /// Chats the person is no longer in: forget them.
        var left: [UUID] = []
        /// The person's own log is further behind than it keeps: reload the chat list and profile.
        var accountTooLong = false
        /// More updates wait: ask again from the positions above.
        var more = false
    }

    /// The updates after `positions`, at most `limit`. `shouldGoOn` is asked between chats, so the
    /// work stops for a device that went away or stopped reading.
    func difference(
        for userID: UUID, after positions: Positions, limit rawLimit: Int?, shouldGoOn: @Sendable () -> Bool = { true }
    ) async throws -> Difference {
        guard positions.chats.count <= Self.maxChats else {
            throw CourierError.invalid("chats", "Ask for at most \(Self.maxChats) chats at once.")
        }
        metrics?.catchUps.increment()
        let limit = rawLimit ?? Self.defaultLimit
        guard (1...Self.maxLimit).contains(limit) else { throw CourierError.invalid("limit", "limit must be 1 to \(Self.maxLimit).") }
        guard positions.chats.values.allSatisfy({ $0 >= 0 }), (positions.account ?? 0) >= 0 else {
            throw CourierError.invalid("pts", "Positions are not negative.")
        }
        var difference = Difference()
        var budget = limit

        // The person's own log.
        let account = try await updates.bounds(ofAccount: userID)
        if let held = positions.account {
            if held > account.newest {
                throw CourierError(
                    .unprocessable, code: "invalid_position",
                    message: "account_pts \(held) was never issued; the newest is \(account.newest).", field: "account_pts"
                )
            }
            if held < account.pruned {
                difference.accountTooLong = true
                difference.accountPTS = account.newest
            } else {
                let page = try await updates.accountUpdates(of: userID, after: held, limit: budget)
                difference.updates += page.map(UpdateFrame.init)
                difference.accountPTS = page.last?.pts ?? held
                budget -= page.count
                if difference.accountPTS < account.newest { difference.more = true }
            }
        } else {
            difference.accountPTS = account.newest
        }

        // Each chat on its own (they are independent), in a fixed order, so that when the budget
        // runs out the same chats come first and the rest follow with `more`, page after page.
        let ids = positions.chats.keys.sorted { $0.uuidString < $1.uuidString }
        let roles = try await chats.roles(of: userID, in: ids)
        let bounds = try await updates.bounds(ofChats: ids)
        for chatID in ids {
            let held = positions.chats[chatID] ?? 0
            guard roles[chatID] != nil, let chat = bounds[chatID] else {
                difference.left.append(chatID)
                continue
            }
            if held > chat.newest {
                difference.invalidPosition.append(chatID)
                difference.chats[chatID] = chat.newest
                continue
            }
            if held < chat.pruned {
                metrics?.tooLong.increment()
                difference.tooLong.append(chatID)
                difference.chats[chatID] = chat.newest
                continue
            }
            guard held < chat.newest, budget > 0, shouldGoOn() else {
                if held < chat.newest { difference.more = true }
                difference.chats[chatID] = held
                continue
            }
            let page = try await updates.chatUpdates(of: chatID, after: held, limit: budget)
            budget -= page.count
            difference.updates += try await frames(of: page, for: userID)
            let reached = page.last?.pts ?? held
            difference.chats[chatID] = reached
            if reached < chat.newest { difference.more = true }
        }
        return difference
    }

    /// The frames of a page of one chat's updates as `userID` sees them: message updates carry the
    /// message as it is now; for a message the person deleted for themselves, the update comes
    /// without it. Every position is sent, none skipped: a device takes a missing one for a gap.
    private func frames(of visible: [ChatUpdate], for userID: UUID) async throws -> [UpdateFrame] {
        let messageIDs = visible.filter { $0.kind.carriesMessage }.compactMap(\.messageID)
        let found = try await messages.find(ids: messageIDs)
        let hidden = try await messages.hidden(among: messageIDs, for: userID)
        let showsReactions = visible.contains { $0.kind == .reactionChanged } || found.values.contains { !$0.reactions.isEmpty }
        let isChannel = showsReactions ? try await chats.find(id: visible[0].chatID)?.kind == .channel : false
        return visible.map { update in
            let message = update.messageID.flatMap { found[$0] }
            return UpdateFrame(
                update, message: message, hiddenFromViewer: update.messageID.map(hidden.contains) ?? false, hideReactors: isChannel, viewer: userID
            )
        }
    }
}

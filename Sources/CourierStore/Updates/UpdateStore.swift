import CourierCore
import Foundation
import SQLKit

/// Reads the update log for catching up, and prunes it.
public struct UpdateStore: Sendable {
    let engine: any DatabaseEngine

    public init(engine: any DatabaseEngine) { self.engine = engine }

    /// Where a chat's log stands: its newest position, and how far it was pruned (updates at or
    /// below `pruned` are gone).
    public struct Bounds: Sendable, Equatable {
        public let newest: Int64
        public let pruned: Int64

        public init(newest: Int64, pruned: Int64) {
            self.newest = newest
            self.pruned = pruned
        }
    }

    /// The bounds of each chat's log.
    public func bounds(ofChats chatIDs: [UUID]) async throws -> [UUID: Bounds] {
        var result: [UUID: Bounds] = [:]
        for start in stride(from: 0, to: chatIDs.count, by: 512) {
            let chunk = Array(chatIDs[start..<min(start + 512, chatIDs.count)])
            let rows = try await engine.read { sql in
                try await sql.raw("SELECT id, last_pts, pruned_pts FROM chats WHERE id IN (\(anyOf: chunk))").all()
            }
            for row in rows {
                result[try row.decode(column: "id", as: UUID.self)] = Bounds(
                    newest: try row.decode(column: "last_pts", as: Int64.self), pruned: try row.decode(column: "pruned_pts", as: Int64.self)
                )
            }
        }
        return result
    }

    /// The bounds of a person's own log.
    public func bounds(ofAccount userID: UUID) async throws -> Bounds {
        try await engine.read { sql in
            guard let row = try await sql.raw("SELECT last_pts, pruned_pts FROM users WHERE id = \(bind: userID)").first() else {
                throw CourierError.notFound("user")
            }
            return Bounds(newest: try row.decode(column: "last_pts", as: Int64.self), pruned: try row.decode(column: "pruned_pts", as: Int64.self))
        }
    }

    /// A chat's updates after `pts`, oldest first, at most `limit`.
    public func chatUpdates(of chatID: UUID, after pts: Int64, limit: Int) async throws -> [ChatUpdate] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT chat_id, pts, kind, message_id, user_id, value, detail, created_at FROM chat_updates
                WHERE chat_id = \(bind: chatID) AND pts > \(bind: pts) ORDER BY pts LIMIT \(bind: limit)
                """).all().map(Self.chatUpdate(from:))
        }
    }

    /// A chat's updates at `positions` created at `time` or later, oldest first.
    public func chatUpdates(of chatID: UUID, at positions: ClosedRange<Int64>, createdSince time: Timestamp) async throws -> [ChatUpdate] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT chat_id, pts, kind, message_id, user_id, value, detail, created_at FROM chat_updates
                WHERE chat_id = \(bind: chatID) AND pts >= \(bind: positions.lowerBound) AND pts <= \(bind: positions.upperBound)
                AND created_at >= \(bind: time.milliseconds) ORDER BY pts
                """).all().map(Self.chatUpdate(from:))
        }
    }

    /// A person's own updates after `pts`, oldest first, at most `limit`.
    public func accountUpdates(of userID: UUID, after pts: Int64, limit: Int) async throws -> [AccountUpdate] {
        try await engine.read { sql in
            try await sql.raw("""
                SELECT user_id, pts, kind, chat_id, message_id, subject_id, value, detail, created_at FROM account_updates
                WHERE user_id = \(bind: userID) AND pts > \(bind: pts) ORDER BY pts LIMIT \(bind: limit)
                """).all().map(Self.accountUpdate(from:))
        }
    }

    /// Removes updates created before `time`, remembering per chat and person how far the log was
    /// pruned. Returns how many were removed. Runs in batches so no transaction grows large.
    @discardableResult
    public func prune(createdBefore time: Timestamp, batch: Int = 5000) async throws -> Int {
        var removed = 0
        for table in [("chat_updates", "chat_id", "chats"), ("account_updates", "user_id", "users")] {
            while true {
                let count = try await engine.write { sql in
                    // The newest position each stream loses in this batch; rows go in pts order per stream.
                    let rows = try await sql.raw("""
                        SELECT \(unsafeRaw: table.1) AS stream, pts FROM \(unsafeRaw: table.0)
                        WHERE created_at < \(bind: time.milliseconds) ORDER BY created_at, pts LIMIT \(bind: batch)
                        """).all()
                    var newest: [UUID: Int64] = [:]
                    for row in rows {
                        let stream = try row.decode(column: "stream", as: UUID.self)
                        newest[stream] = max(newest[stream] ?? 0, try row.decode(column: "pts", as: Int64.self))
                    }
                    for (stream, pts) in newest {
                        try await sql.raw("""
                            DELETE FROM \(unsafeRaw: table.0) WHERE \(unsafeRaw: table.1) = \(bind: stream) AND pts <= \(bind: pts)
                            """).run()
                        try await sql.raw("""
                            UPDATE \(unsafeRaw: table.2) SET pruned_pts = \(bind: pts) WHERE id = \(bind: stream) AND pruned_pts < \(bind: pts)
                            """).run()
                    }
                    return rows.count
                }
                removed += count
                if count < batch { break }
            }
        }
        return removed
    }

    static func chatUpdate(from row: any SQLRow) throws -> ChatUpdate {
        ChatUpdate(
            chatID: try row.decode(column: "chat_id", as: UUID.self),
            pts: try row.decode(column: "pts", as: Int64.self),
            kind: try row.decodeEnum(column: "kind", as: ChatUpdate.Kind.self),
            messageID: try row.decode(column: "message_id", as: UUID?.self),
            userID: try row.decode(column: "user_id", as: UUID?.self),
            value: try row.decode(column: "value", as: Int64?.self),
            detail: try row.decode(column: "detail", as: String?.self),
            createdAt: try row.decodeTimestamp(column: "created_at")
        )
    }

    static func accountUpdate(from row: any SQLRow) throws -> AccountUpdate {
        AccountUpdate(
            userID: try row.decode(column: "user_id", as: UUID.self),
            pts: try row.decode(column: "pts", as: Int64.self),
            kind: try row.decodeEnum(column: "kind", as: AccountUpdate.Kind.self),
            chatID: try row.decode(column: "chat_id", as: UUID?.self),
            messageID: try row.decode(column: "message_id", as: UUID?.self),
            subjectID: try row.decode(column: "subject_id", as: UUID?.self),
            value: try row.decode(column: "value", as: Int64?.self),
            detail: try row.decode(column: "detail", as: String?.self),
            createdAt: try row.decodeTimestamp(column: "created_at")
        )
    }
}

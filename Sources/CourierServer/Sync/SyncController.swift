import CourierCore
import Foundation
import Hummingbird

/// `GET /api/v1/updates`: the REST twin of WebSocket `resume`, for catching up without a socket.
///
/// `?account_pts=N` (absent on a first start), `chats=<chat id>:<pts>,…` (at most 100 chats per
/// call, so the address stays short; more over WebSocket), `limit` (1–500, default 100).
struct SyncController: Sendable {
    let sync: SyncService

    static let maxChatsPerRequest = 100

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get(use: difference)
    }

    @Sendable func difference(request: Request, context: AuthenticatedContext) async throws -> DifferenceResponse {
        let query = request.uri.queryParameters
        let account = try query.get("account_pts").map { raw throws(CourierError) -> Int64 in
            guard let value = Int64(raw) else { throw CourierError.invalid("account_pts", "account_pts must be a whole number.") }
            return value
        }
        let limit = try query.get("limit").map { raw throws(CourierError) -> Int in
            guard let value = Int(raw) else { throw CourierError.invalid("limit", "limit must be a whole number.") }
            return value
        }
        var chats: [UUID: Int64] = [:]
        let entries = (query.get("chats") ?? "").split(separator: ",", omittingEmptySubsequences: true)
        guard entries.count <= Self.maxChatsPerRequest else {
            throw CourierError.invalid("chats", "Ask for at most \(Self.maxChatsPerRequest) chats per request.")
        }
        for entry in entries {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let id = UUID(uuidString: String(parts[0])), let pts = Int64(parts[1]) else {
                throw CourierError.invalid("chats", "chats must be <chat id>:<pts> pairs separated by commas.")
            }
            chats[id] = pts
        }
        let difference = try await sync.difference(
            for: context.user.userID, after: SyncService.Positions(account: account, chats: chats), limit: limit
        )
        return DifferenceResponse(difference: difference)
    }
}

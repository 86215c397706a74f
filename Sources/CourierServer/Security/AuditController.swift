import CourierCore
import Foundation
import Hummingbird

/// `GET /api/v1/audit`: your security events (`?all=true`: everyone's, for server administrators).
struct AuditController {
    let audit: AuditService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get(use: list)
    }

    struct EntryResponse: Encodable {
        let seq: Int64
        let id: String
        let occurredAt: Timestamp
        let action: String
        let outcome: AuditEntry.Outcome
        let actorID: String?
        let subjectID: String?
        let ipAddress: String?
        let details: [String: String]

        enum CodingKeys: String, CodingKey {
            case seq, id, action, outcome, details
            case occurredAt = "occurred_at"
            case actorID = "actor_id"
            case subjectID = "subject_id"
            case ipAddress = "ip_address"
        }
    }

    struct ListResponse: ResponseEncodable {
        let entries: [EntryResponse]
        let hasMore: Bool

        enum CodingKeys: String, CodingKey {
            case entries
            case hasMore = "has_more"
        }
    }

    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> ListResponse {
        let page = try request.pageRequest()
        var before: Int64?
        switch page.position {
        case .before(let seq): before = seq
        case .offset(0): before = nil
        default: throw CourierError(.badRequest, code: "invalid_parameter", message: "The audit log pages with limit and before_seq.")
        }
        let everyone = request.uri.queryParameters.get("all") == "true"
        let entries = try await audit.entries(for: context.user, everyone: everyone, limit: page.limit + 1, before: before)
        return ListResponse(
            entries: entries.prefix(page.limit).map {
                EntryResponse(
                    seq: $0.seq, id: $0.id.lowercasedString, occurredAt: $0.occurredAt, action: $0.action, outcome: $0.outcome,
                    actorID: $0.actorID?.lowercasedString, subjectID: $0.subjectID?.lowercasedString, ipAddress: $0.ipAddress, details: $0.details
                )
            },
            hasMore: entries.count > page.limit
        )
    }
}

import CourierCore
import CourierStore
import Foundation
import Logging

/// Records security events in the hash-chained audit log and shows them: each user their own,
/// server administrators everything.
public struct AuditService: Sendable {
    let audit: AuditStore
    let users: UserStore
    let logger: Logger

    public init(audit: AuditStore, users: UserStore, logger: Logger) {
        self.audit = audit
        self.users = users
        self.logger = logger
    }

    /// Appends an event. A failure to record is logged loudly but does not undo what happened.
    func record(_ event: AuditStore.Event) async {
        do {
            try await audit.append(event)
        } catch let error as PrivateFileError {
            logger.error("audit anchor not updated: removal of the newest entries may go unseen", metadata: ["error": "\(error)"])
        } catch let error as AuditLogBehindAnchor {
            logger.critical("the audit log was cut and written again", metadata: ["error": "\(error)"])
        } catch {
            logger.error("audit entry not recorded", metadata: ["action": "\(event.action)", "error": "\(error)"])
        }
    }

    /// Entries about the user, or all entries for a server administrator asking for them.
    public func entries(for user: AuthenticatedUser, everyone: Bool, limit: Int, before seq: Int64?) async throws -> [AuditEntry] {
        if everyone {
            guard try await users.isServerAdmin(user.userID) else {
                throw CourierError(.forbidden, code: "not_server_admin", message: "Only server administrators see the whole audit log.")
            }
        }
        return try await audit.entries(about: everyone ? nil : user.userID, limit: limit, before: seq)
    }
}

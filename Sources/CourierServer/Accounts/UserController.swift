import CourierCore
import Foundation
import Hummingbird

/// `/api/v1/users`: one's own profile, other people's public profiles, and exact lookup.
struct UserController {
    let users: UserService

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("me", use: me)
        group.patch("me", use: updateMe)
        group.get(":id", use: user)
        group.get(use: lookup)
    }

    @Sendable func me(request: Request, context: AuthenticatedContext) async throws -> UserResponse {
        UserResponse(try await users.user(id: context.user.userID))
    }

    @Sendable func updateMe(request: Request, context: AuthenticatedContext) async throws -> UserResponse {
        let body = try await request.decodeJSON(as: UpdateProfileRequest.self, context: context)
        return UserResponse(try await users.updateProfile(of: context.user.userID, try body.changes()))
    }

    @Sendable func user(request: Request, context: AuthenticatedContext) async throws -> PublicUserResponse {
        PublicUserResponse(try await users.user(id: try context.parameters.uuid("id", resource: "user")))
    }

    /// `GET /users?username=…` or `?phone=…`: exactly one person or 404. A malformed value cannot
    /// match anyone, so it is a 404 too.
    @Sendable func lookup(request: Request, context: AuthenticatedContext) async throws -> PublicUserResponse {
        let query = request.uri.queryParameters
        let identifier: LoginIdentifier?
        if let username = query.get("username") {
            identifier = try? .username(Username(username))
        } else if let phone = query.get("phone") {
            identifier = try? .phone(PhoneNumber(phone))
        } else {
            throw CourierError(.badRequest, code: "invalid_request", message: "Give ?username= or ?phone= to look someone up.")
        }
        guard let identifier else { throw CourierError.notFound("user") }
        return PublicUserResponse(try await users.lookup(identifier))
    }
}

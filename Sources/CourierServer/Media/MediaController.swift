import CourierCore
import Foundation
import Hummingbird

/// `/api/v1/media/{id}`: a media file's description, its bytes (any variant, with `Range` and
/// `ETag`) and signed links to them; and `/media/{id}?…&sig=…`, the same bytes through a signed
/// link, for `<img>` and `<video>` elements that cannot send a token. Anyone who may not see the
/// media gets 404, as if it did not exist.
struct MediaController {
    let media: MediaService

    func addRoutes(api group: RouterGroup<AuthenticatedContext>, router: Router<AppRequestContext>) {
        group.get(":id", use: show)
        group.get(":id/content", use: content)
        group.get(":id/link", use: link)
        router.get("media/:id", use: signedContent)
    }

    @Sendable func show(request: Request, context: AuthenticatedContext) async throws -> MediaResponse {
        let record = try await media.media(try mediaID(context.parameters), for: context.user.userID)
        return MediaResponse(attachment: record.info.attachment, createdAt: record.createdAt)
    }

    @Sendable func content(request: Request, context: AuthenticatedContext) async throws -> Response {
        let download = try await media.download(try mediaID(context.parameters), variant: try variant(request), for: context.user.userID)
        return try await MediaResponder(media: media).respond(download, to: request)
    }

    @Sendable func link(request: Request, context: AuthenticatedContext) async throws -> MediaLinkResponse {
        let link = try await media.link(try mediaID(context.parameters), variant: try variant(request), for: context.user.userID)
        return MediaLinkResponse(url: link.path, expiresAt: link.expires)
    }

    @Sendable func signedContent(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try mediaID(context.parameters)
        let query = request.uri.queryParameters
        guard let name = try variant(request) else { throw CourierError.unauthorized("This download link is not valid.", code: "link_invalid") }
        let user = try media.verifyLink(id, variant: name, user: query.get("user"), expires: query.get("expires"), signature: query.get("sig"))
        let download = try await media.download(id, variant: name, for: user)
        return try await MediaResponder(media: media).respond(download, to: request)
    }

    private func mediaID(_ parameters: Parameters) throws(CourierError) -> UUID {
        try parameters.uuid("id", resource: "media")
    }

    private func variant(_ request: Request) throws(CourierError) -> String? {
        guard let name = request.uri.queryParameters.get("variant") else { return nil }
        guard MediaVariant.isValidName(name) else { throw MediaService.noSuchVariant(String(name.prefix(16))) }
        return name
    }
}

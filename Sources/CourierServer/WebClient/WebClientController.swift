import CourierCore
import HTTPTypes
import Hummingbird

/// Serves the web client: its page at `/` and at every client route (`/r/<reference>`, the page
/// behind a Telegram notification), and its files under `/assets/`. Files are revalidated with
/// their `ETag` on each load, so a new server version is picked up without stale caches.
struct WebClientController {
    let assets: WebAssets

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/", use: page)
        router.get("r/:ref", use: page)
        router.get("assets/**", use: asset)
    }

    @Sendable func page(request: Request, context: AppRequestContext) async throws -> Response {
        guard let index = assets.index else {
            throw CourierError(.notFound, code: "web_client_missing", message: "This server was built without its web client.")
        }
        return respond(with: index, to: request)
    }

    @Sendable func asset(request: Request, context: AppRequestContext) async throws -> Response {
        let path = context.parameters.getCatchAll().joined(separator: "/")
        guard let asset = assets.asset(at: "assets/" + path) else { throw CourierError.notFound("file") }
        return respond(with: asset, to: request)
    }

    private func respond(with asset: WebAssets.Asset, to request: Request) -> Response {
        var headers: HTTPFields = [.eTag: asset.etag, .cacheControl: "no-cache"]
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }
}

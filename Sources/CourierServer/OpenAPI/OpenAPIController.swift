import Hummingbird
import NIOCore

/// `GET /api/v1/openapi.yaml`: the API's description, for tools and people.
struct OpenAPIController {
    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("api/v1/openapi.yaml", use: document)
    }

    @Sendable func document(request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml))
        )
    }
}

import CourierCore
import Crypto
import Foundation
import Hummingbird

/// `GET /metrics`: the node's measurements in Prometheus' text format, for a bearer of the metrics
/// token (main port), or for anyone who reaches the separate metrics listener.
struct MetricsController<Context: RequestContext> {
    let metrics: ServerMetrics
    /// Required on the main port; nil on the separate listener.
    let token: String?

    func addRoutes(to router: Router<Context>) {
        router.get("metrics", use: scrape)
    }

    @Sendable func scrape(request: Request, context: Context) async throws -> Response {
        if let token {
            let given = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
            // Compared as hashes, so the time taken says nothing about how much of it matched.
            guard Data(SHA256.hash(data: Data(given.utf8))) == Data(SHA256.hash(data: Data(token.utf8))) else {
                throw CourierError.unauthorized()
            }
        }
        let body = await metrics.exposition()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}

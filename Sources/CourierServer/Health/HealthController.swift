import CourierRealtime
import CourierStore
import Hummingbird

/// `GET /health`: 200 `{"status":"ok","database":"sqlite"}` when the database answers within two seconds, 503 naming
/// the failing part otherwise (`database`, or `draining` while the node shuts down). For load
/// balancers and monitoring; needs no token.
struct HealthController {
    let engine: any DatabaseEngine
    let registry: ConnectionRegistry

    struct HealthResponse: ResponseEncodable {
        let status: String
        /// `sqlite` or `postgres`, so operators and `courier bench` can tell which engine answers.
        let database: String
        let failing: [String]?
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("health", use: health)
    }

    @Sendable func health(request: Request, context: AppRequestContext) async throws -> EditedResponse<HealthResponse> {
        if await registry.isDraining {
            return HealthResponse(status: "draining", database: engine.kind.rawValue, failing: ["draining"]).response(status: .serviceUnavailable)
        }
        if await databaseAnswers(context: context) {
            return HealthResponse(status: "ok", database: engine.kind.rawValue, failing: nil).response(status: .ok)
        }
        return HealthResponse(status: "unavailable", database: engine.kind.rawValue, failing: ["database"]).response(status: .serviceUnavailable)
    }

    private func databaseAnswers(context: AppRequestContext) async -> Bool {
        let engine = self.engine
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await engine.ping()
                    return true
                } catch {
                    context.logger.warning("health check: database failed", metadata: ["error": "\(error)"])
                    return false
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

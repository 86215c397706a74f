import CourierServer
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Health and error format")
struct HealthAndErrorsTests {
    @Test(arguments: TestEngine.all)
    func healthIsOkWhileTheDatabaseAnswers(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let response = try await api.send(.get, "/health")
            #expect(response.status == .ok)
            #expect(response["status"] as? String == "ok")
            #expect(response["database"] as? String == services.store.engine.kind.rawValue)
            #expect(response.headers[.init("X-Request-Id")!]?.isEmpty == false)
        }
    }

    @Test(arguments: TestEngine.all)
    func healthIs503WhenTheDatabaseIsGone(engine: TestEngine) async throws {
        try await engine.withStore { store in
            let services = try await AppServices(store: store, jwtSecret: testJWTSecret, bcryptCost: 4)
            let app = Application(router: buildRouter(services: services), logger: TestEngine.logger)
            try await store.engine.close()
            try await app.test(.router) { client in
                let response = try await APIClient(client: client).send(.get, "/health")
                #expect(response.status == .serviceUnavailable)
                #expect(response["status"] as? String == "unavailable")
                #expect(response["failing"] as? [String] == ["database"])
            }
        }
    }

    @Test(arguments: TestEngine.all)
    func unknownRoutesAreJSON404s(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let response = try await api.send(.get, "/api/v1/nothing-here")
            #expect(response.status == .notFound)
            #expect(response.errorCode == "not_found")
        }
    }
}

import Foundation
import Testing

@testable import CourierServer

@Suite("OpenAPI document")
struct OpenAPITests {
    /// Every route the router serves is in the document, and every operation in the document is served.
    @Test func documentMatchesTheRoutes() async throws {
        try await TestEngine.sqlite.withStore { store in
            let services = try await AppServices(store: store, jwtSecret: testJWTSecret, bcryptCost: 4)
            let router = buildRouter(services: services)
            let served = Set(router.routes.map { route in
                let path = route.path.description.split(separator: "/").map { segment in
                    segment == "**" ? "{path}" : segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                }
                return "\(route.method.rawValue) /" + path.joined(separator: "/")
            })
            let documented = Self.operations(in: OpenAPIDocument.yaml)
            #expect(served.subtracting(documented).sorted() == [], "served but not documented")
            #expect(documented.subtracting(served).sorted() == [], "documented but not served")
            #expect(served.contains("POST /api/v1/auth/register") && served.contains("GET /health"))
        }
    }

    @Test func documentIsServed() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let response = try await api.client.executeRequest(uri: "/api/v1/openapi.yaml", method: .get, headers: [:], body: nil)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/yaml") == true)
            #expect(String(buffer: response.body).hasPrefix("openapi: 3.1.0"))
        }
    }

    /// "METHOD /path" for each operation: paths are the two-space-indented keys under `paths:`,
    /// operations the four-space-indented HTTP methods under them.
    static func operations(in yaml: String) -> Set<String> {
        var result = Set<String>()
        var inPaths = false
        var currentPath: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if !line.hasPrefix(" "), !line.isEmpty { break }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if let currentPath, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "head", "post", "put", "patch", "delete"].contains(method) {
                    result.insert("\(method.uppercased()) \(currentPath)")
                }
            }
        }
        return result
    }
}

@testable import CourierServer
import Foundation
import Testing

/// The files in `deploy/` stay true to the code: the environment template names every setting the
/// server reads, the dashboard only metrics the server exposes, and the unit keeps its hardening.
@Suite("Deployment files")
struct DeploymentFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The settings the server's code reads from its environment (names in string literals).
    static func settingsInCode() throws -> Set<String> {
        let pattern = try NSRegularExpression(pattern: #""((COURIER|TELEGRAM|AWS)_[A-Z0-9_]+|DATABASE_URL|REDIS_URL|JWT_SECRET|LOG_LEVEL)""#)
        var names: Set<String> = []
        // The server and its storage; the command-line tools' own (a chat client's password, a backup's
        // passphrase) are not the server's settings.
        let folders = ["Sources/CourierServer", "Sources/CourierStore"].map { root.appendingPathComponent($0) }
        for folder in folders {
            for case let file as URL in FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)! where file.pathExtension == "swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    names.insert(String(text[Range(match.range(at: 1), in: text)!]))
                }
            }
        }
        // Rate limits are read as COURIER_RATE_LIMIT_<NAME>.
        names.remove("COURIER_RATE_LIMIT_")
        let limits = try read("Sources/CourierServer/Security/RateLimitSettings.swift")
        let limit = try NSRegularExpression(pattern: #"limit\("([A-Z_]+)""#)
        for match in limit.matches(in: limits, range: NSRange(limits.startIndex..., in: limits)) {
            names.insert("COURIER_RATE_LIMIT_" + String(limits[Range(match.range(at: 1), in: limits)!]))
        }
        return names
    }

    @Test func theEnvironmentTemplateListsEverySetting() throws {
        let template = try Self.read("deploy/courier.env")
        let listed = Set(template.split(separator: "\n").compactMap { line -> String? in
            let text = line.hasPrefix("#") ? line.dropFirst() : line[...]
            guard let equals = text.firstIndex(of: "="), !text.contains(" ") || text.firstIndex(of: " ")! > equals else { return nil }
            return String(text[..<equals])
        })
        let read = try Self.settingsInCode()
        #expect(read.count > 30)
        #expect(read.subtracting(listed).isEmpty, "not in deploy/courier.env: \(read.subtracting(listed).sorted())")
        #expect(listed.subtracting(read).isEmpty, "deploy/courier.env lists settings nothing reads: \(listed.subtracting(read).sorted())")
    }

    @Test func theDashboardShowsOnlyMetricsTheServerExposes() async throws {
        let metrics = ServerMetrics()
        metrics.recordRequest(method: "GET", route: "/health", status: 200, duration: .milliseconds(1))
        metrics.groupCommitBatchSize()(1)
        metrics.deliveryLatency.recordMilliseconds(1)
        metrics.mediaProcessing.recordMilliseconds(1)
        let exposed = String(decoding: await metrics.exposition(), as: UTF8.self)
        let dashboard = try Self.read("deploy/grafana-dashboard.json")
        _ = try JSONSerialization.jsonObject(with: Data(dashboard.utf8))
        let names = try NSRegularExpression(pattern: #"courier_[a-z_]+"#)
        let used = Set(names.matches(in: dashboard, range: NSRange(dashboard.startIndex..., in: dashboard)).map {
            String(dashboard[Range($0.range, in: dashboard)!])
        }).subtracting(["courier_overview"])
        #expect(used.count >= 10)
        for name in used { #expect(exposed.contains(name + "{") || exposed.contains(name + " "), "\(name) is not exposed") }
    }

    @Test func theUnitKeepsItsHardening() throws {
        let unit = try Self.read("deploy/courier.service")
        for directive in [
            "User=courier", "StateDirectory=courier", "ProtectSystem=strict", "NoNewPrivileges=yes", "Restart=on-failure",
            "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=", "ExecStart=/opt/courier/courier serve",
        ] {
            #expect(unit.contains("\n" + directive + "\n"), "\(directive) is missing")
        }
    }
}

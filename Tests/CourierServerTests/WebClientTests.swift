import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import CourierServer

/// The server side of the web client: its page and files are served, revalidated by ETag, and
/// nothing else is. What the client does in a browser is tested by `Tests/WebClient` (chromium).
@Suite("Web client files")
struct WebClientTests {
    @Test func pageAndEveryFileItReferencesAreServed() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let page = try await api.client.executeRequest(uri: "/", method: .get, headers: [:], body: nil)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
            let html = String(buffer: page.body)
            let references = Self.assetReferences(in: html)
            #expect(!references.isEmpty, "the page loads its scripts and styles from /assets/")
            for path in references {
                let asset = try await api.client.executeRequest(uri: path, method: .get, headers: [:], body: nil)
                #expect(asset.status == .ok, "\(path)")
                #expect(asset.headers[.contentType] != "application/octet-stream", "\(path)")
            }
        }
    }

    @Test func referenceLinksOpenTheSamePage() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let root = try await api.client.executeRequest(uri: "/", method: .get, headers: [:], body: nil)
            let reference = try await api.client.executeRequest(uri: "/r/abc123", method: .get, headers: [:], body: nil)
            #expect(reference.status == .ok)
            #expect(String(buffer: reference.body) == String(buffer: root.body))
        }
    }

    @Test func unchangedFilesAreNotSentAgain() async throws {
        try await withTestApp(.sqlite) { api, _ in
            let first = try await api.client.executeRequest(uri: "/", method: .get, headers: [:], body: nil)
            let etag = try #require(first.headers[.eTag])
            #expect(first.headers[.cacheControl] == "no-cache")
            let again = try await api.client.executeRequest(uri: "/", method: .get, headers: [.ifNoneMatch: etag], body: nil)
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
            let stale = try await api.client.executeRequest(uri: "/", method: .get, headers: [.ifNoneMatch: "\"old\""], body: nil)
            #expect(stale.status == .ok)
        }
    }

    @Test func unknownFilesAreJSON404s() async throws {
        try await withTestApp(.sqlite) { api, _ in
            for path in ["/assets/missing.js", "/assets/../Package.swift", "/assets/%2e%2e/Package.swift", "/index.html.bak"] {
                let response = try await api.send(.get, path)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.errorCode != nil, "\(path)")
            }
        }
    }

    @Test func aWorkingCopyFolderIsServedInstead() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("courier-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("assets"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("<!doctype html><title>dev</title>".utf8).write(to: folder.appendingPathComponent("index.html"))
        try Data("export {}".utf8).write(to: folder.appendingPathComponent("assets/app.js"))
        try Data("secret".utf8).write(to: folder.appendingPathComponent(".env"))
        let assets = try WebAssets(folder: folder)
        #expect(Set(assets.assets.keys) == ["index.html", "assets/app.js"])
        #expect(assets.asset(at: "assets/app.js")?.contentType == "text/javascript; charset=utf-8")
    }

    /// `/assets/…` paths in `src="…"` and `href="…"` attributes.
    static func assetReferences(in html: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"(?:src|href)="(/assets/[^"]+)""#)
        let range = NSRange(html.startIndex..., in: html)
        return pattern.matches(in: html, range: range).compactMap { match in
            Range(match.range(at: 1), in: html).map { String(html[$0]) }
        }
    }
}

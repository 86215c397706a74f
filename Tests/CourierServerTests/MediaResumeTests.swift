import AsyncHTTPClient
import CourierClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An upload survives `kill -9` of the server in the middle of a part: after the restart the
/// stored offset is where complete chunks ended, the client sends the rest from there, and the
/// file that comes back has the SHA-256 it was uploaded with.
@Suite("Media uploads across a server crash")
struct MediaResumeTests {
    @Test func uploadResumesAfterSIGKILLMidPart() async throws {
        let server = try await ChaosServer.start()
        defer { server.stop() }
        let client = CourierClient(baseURL: server.baseURL)
        let alice = try await client.signUp("alice_1")
        let bytes = (0..<3_000_000).map { _ in UInt8.random(in: 0...255) }
        let created = try await Live.call(client, .POST, "/api/v1/uploads", json: [
            "size": bytes.count, "mime_type": "application/octet-stream", "file_name": "big.bin", "sha256": MediaFixtures.sha256(bytes),
        ], token: alice.token)
        #expect(created.status == 201)
        let id = try #require(created.json["id"] as? String)

        // One part for the whole file, of which only half arrives before the server dies.
        let socket = try await openPartialUpload(port: server.port, id: id, token: alice.token, total: bytes.count, sent: Array(bytes[0..<1_500_000]))
        defer { close(socket) }
        let deadline = ContinuousClock.now + .seconds(20)
        var stored = 0
        while stored < 1_048_576, ContinuousClock.now < deadline {
            stored = try await Live.call(client, .GET, "/api/v1/uploads/\(id)", token: alice.token).json["offset"] as? Int ?? 0
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(stored >= 1_048_576, "two chunks were stored while the part was arriving")
        try await server.killAndRestart()

        let resumed = try await Live.call(client, .GET, "/api/v1/uploads/\(id)", token: alice.token)
        let offset = try #require(resumed.json["offset"] as? Int)
        #expect(offset >= 1_048_576 && offset <= 1_500_000)
        let rest = try await Live.call(client, .PATCH, "/api/v1/uploads/\(id)", bytes: Array(bytes[offset...]), headers: [
            "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream",
        ], token: alice.token)
        #expect(rest.status == 204)
        let done = try await Live.call(client, .POST, "/api/v1/uploads/\(id)/complete", token: alice.token)
        #expect(done.status == 201, "\(done.json)")
        let download = try await Live.call(client, .GET, "/api/v1/media/\(id)/content", token: alice.token)
        #expect(MediaFixtures.sha256(download.body) == MediaFixtures.sha256(bytes))
    }

    /// A part announcing an absurd length is refused with 413 (it once overflowed the arithmetic
    /// and took the server down), and the server goes on.
    @Test func anAbsurdContentLengthIsRefused() async throws {
        let server = try await ChaosServer.start()
        defer { server.stop() }
        let client = CourierClient(baseURL: server.baseURL)
        let alice = try await client.signUp("alice_1")
        let created = try await Live.call(client, .POST, "/api/v1/uploads", json: [
            "size": 10, "mime_type": "text/plain", "file_name": "a.txt", "sha256": String(repeating: "0", count: 64),
        ], token: alice.token)
        let id = try #require(created.json["id"] as? String)
        #expect(try await Live.call(client, .PATCH, "/api/v1/uploads/\(id)", bytes: [1], headers: [
            "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
        ], token: alice.token).status == 204)
        let answer = try await RawHTTP.exchange(port: server.port, [
            "PATCH /api/v1/uploads/\(id) HTTP/1.1", "Host: 127.0.0.1", "Authorization: Bearer \(alice.token)", "Upload-Offset: 1",
            "Content-Type: application/offset+octet-stream", "Content-Length: 9223372036854775807", "Connection: close", "", "",
        ].joined(separator: "\r\n"))
        #expect(answer.status == 413)
        #expect(answer.errorCode == "upload_too_long")
        #expect(try await Live.call(client, .GET, "/api/v1/uploads/\(id)", token: alice.token).json["offset"] as? Int == 1)
    }

    /// Sends the headers of a PATCH for `total` bytes and the first `sent` of them, then leaves the
    /// connection open (on a thread of its own: these are blocking socket calls).
    func openPartialUpload(port: Int, id: String, token: String, total: Int, sent: [UInt8]) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
                }
                guard connected else {
                    close(fd)
                    continuation.resume(throwing: RawHTTPError("connect failed"))
                    return
                }
                let head = "PATCH /api/v1/uploads/\(id) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                    + "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: \(total)\r\n\r\n"
                let all = Array(head.utf8) + sent
                var offset = 0
                while offset < all.count {
                    let written = all.withUnsafeBytes { send(fd, $0.baseAddress! + offset, all.count - offset, Int32(MSG_NOSIGNAL)) }
                    if written <= 0 { break }
                    offset += written
                }
                continuation.resume(returning: fd)
            }
        }
    }
}

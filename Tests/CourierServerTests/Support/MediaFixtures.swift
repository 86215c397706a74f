import CourierServer
import Crypto
import Foundation
import HTTPTypes
import NIOCore
import Testing

/// Files for media tests, made by the test itself: PNG and JPEG pictures (optionally with EXIF
/// orientation and a canary in their metadata), and audio or video made by ffmpeg.
enum MediaFixtures {
    /// An RGB PNG of `width`×`height` with a gradient (stored, not compressed: zlib's "stored"
    /// blocks need no compressor).
    static func png(width: Int, height: Int) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity((width * 3 + 1) * height)
        for y in 0..<height {
            raw.append(0)
            for x in 0..<width { raw += [UInt8(x % 256), UInt8(y % 256), UInt8((x + y) % 256)] }
        }
        var header: [UInt8] = []
        header += bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlibStored(raw)) + chunk("IEND", [])
    }

    /// A PNG whose header claims `width`×`height` but carries almost no data: what a decompression
    /// bomb looks like before anyone decodes it.
    static func pngHeaderOnly(width: Int, height: Int) -> [UInt8] {
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlibStored([0, 0, 0, 0])) + chunk("IEND", [])
    }

    /// A JPEG (made by `vips` from a PNG) with an EXIF block holding `orientation` and the text
    /// `description` (a canary), and a GPS block.
    static func jpegWithEXIF(width: Int, height: Int, orientation: UInt16, description: String) async throws -> [UInt8] {
        let folder = try TemporaryFolder()
        let png = folder.path + "/in.png", jpeg = folder.path + "/out.jpg"
        try Data(Self.png(width: width, height: height)).write(to: URL(fileURLWithPath: png))
        try await run("vips", ["copy", png, jpeg + "[Q=90,strip]"])
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: jpeg)))
        let exif = exifSegment(orientation: orientation, description: description)
        bytes.insert(contentsOf: exif, at: 2)
        return bytes
    }

    /// Audio or video made by ffmpeg from its test sources (`arguments` after the inputs).
    static func ffmpeg(_ inputs: [String], _ arguments: [String], suffix: String) async throws -> [UInt8] {
        let folder = try TemporaryFolder()
        let output = folder.path + "/out." + suffix
        try await run("ffmpeg", ["-nostdin", "-v", "error"] + inputs + arguments + ["-y", output])
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
    }

    static func sha256(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Building blocks

    private static func run(_ tool: String, _ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let status = try await ProcessLaunch.runToEnd(process)
        try #require(status == 0, "\(tool) \(arguments) failed")
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
    private static func bigEndian(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~crc
    }

    private static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let last: UInt8 = offset + length >= data.count ? 1 : 0
            out.append(last)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return out + bigEndian((b << 16) | a)
    }

    /// An APP1 "Exif" segment (big-endian TIFF) with IFD0 = {ImageDescription, Orientation,
    /// GPSInfo pointer} and a GPS IFD with a latitude reference.
    private static func exifSegment(orientation: UInt16, description: String) -> [UInt8] {
        let text = Array(description.utf8) + [0]
        // TIFF header (8) + IFD0: count (2) + 3 entries (36) + next (4) = 50; then GPS IFD: 2 + 12 + 4 = 18; then text.
        let gpsOffset: UInt32 = 50
        let textOffset: UInt32 = 50 + 18
        var tiff: [UInt8] = Array("MM".utf8) + bigEndian(UInt16(42)) + bigEndian(UInt32(8))
        tiff += bigEndian(UInt16(3))
        tiff += bigEndian(UInt16(0x010E)) + bigEndian(UInt16(2)) + bigEndian(UInt32(text.count)) + bigEndian(textOffset)
        tiff += bigEndian(UInt16(0x0112)) + bigEndian(UInt16(3)) + bigEndian(UInt32(1)) + bigEndian(orientation) + [0, 0]
        tiff += bigEndian(UInt16(0x8825)) + bigEndian(UInt16(4)) + bigEndian(UInt32(1)) + bigEndian(gpsOffset)
        tiff += bigEndian(UInt32(0))
        tiff += bigEndian(UInt16(1))
        tiff += bigEndian(UInt16(0x0001)) + bigEndian(UInt16(2)) + bigEndian(UInt32(2)) + Array("N".utf8) + [0, 0, 0]
        tiff += bigEndian(UInt32(0))
        tiff += text
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        return [0xFF, 0xE1] + bigEndian(UInt16(payload.count + 2)) + payload
    }
}

extension APIClient {
    /// Sends raw bytes (an upload part) with `headers`.
    func sendBytes(_ method: HTTPRequest.Method, _ path: String, _ bytes: some Sequence<UInt8>, token: String, headers extra: HTTPFields = [:]) async throws -> APIResponse {
        var headers = extra
        headers[.authorization] = "Bearer \(token)"
        if headers[.contentType] == nil { headers[.contentType] = "application/offset+octet-stream" }
        let response = try await client.executeRequest(uri: path, method: method, headers: headers, body: ByteBuffer(bytes: Array(bytes)))
        let data = Data(buffer: response.body)
        let parsed = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return APIResponse(status: response.status, headers: response.headers, json: parsed)
    }

    /// Downloads `path` and returns the status, headers and bytes.
    func download(_ path: String, token: String?, headers extra: HTTPFields = [:]) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, bytes: [UInt8]) {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        let response = try await client.executeRequest(uri: path, method: .get, headers: headers, body: nil)
        return (response.status, response.headers, Array(buffer: response.body))
    }

    /// Creates an upload of `bytes`, sends them in parts of `partSize` and completes it; returns the
    /// completion's response (not requiring success).
    func upload(
        _ bytes: [UInt8], by user: SignedInUser, kind: String = "file", mimeType: String = "application/octet-stream",
        fileName: String = "file.bin", partSize: Int = 512 * 1024, sha256: String? = nil
    ) async throws -> APIResponse {
        let created = try await send(.post, "/api/v1/uploads", json: [
            "size": bytes.count, "mime_type": mimeType, "file_name": fileName, "sha256": sha256 ?? MediaFixtures.sha256(bytes), "kind": kind,
        ], token: user.token)
        try #require(created.status == .created, "create upload: \(created.status) \(created.json)")
        let id = try created.string("id")
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + partSize, bytes.count)
            let part = try await sendBytes(.patch, "/api/v1/uploads/\(id)", bytes[offset..<end], token: user.token, headers: [.uploadOffset: String(offset)])
            try #require(part.status == .noContent, "part at \(offset): \(part.status) \(part.json)")
            offset = end
        }
        return try await send(.post, "/api/v1/uploads/\(id)/complete", token: user.token)
    }

    /// Uploads and completes, requiring success; returns the media id.
    func uploadMedia(_ bytes: [UInt8], by user: SignedInUser, kind: String = "file", mimeType: String = "application/octet-stream", fileName: String = "file.bin") async throws -> String {
        let response = try await upload(bytes, by: user, kind: kind, mimeType: mimeType, fileName: fileName)
        try #require(response.status == .created, "complete: \(response.status) \(response.json)")
        return try response.string("id")
    }
}

extension HTTPField.Name {
    static let uploadOffset = Self("Upload-Offset")!
}

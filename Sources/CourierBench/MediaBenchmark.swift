import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `courier bench media`: upload and download throughput through the server's encryption, the
/// server's memory while a large file streams in, and photo processing time.
///
/// The file is generated while it is sent (a pseudo-random 1 MiB block, varied per MiB), so the
/// generator's own memory stays small whatever the size; it goes up as parts of `partBytes`
/// (Telegram's 512 KiB by default) or, with `partBytes` 0, as one streamed request.
public struct MediaBenchmark: Sendable {
    public struct Settings: Sendable, Codable {
        public var megabytes = 256
        public var partBytes = 512 * 1024
        public var rounds = 3
        public var photos = 3
        public var photoMegapixels = 24

        public init() {}
    }

    public struct Round: Sendable, Codable {
        public let uploadMBps: Double
        public let completeSeconds: Double
        public let downloadMBps: Double
        /// How much the server's resident memory grew above where it stood before the upload.
        public let serverRSSGrowthBytes: Int?
    }

    public struct Result: Sendable, Codable {
        public let megabytes: Int
        public let partBytes: Int
        public let rounds: [Round]
        /// Seconds from "complete" to the processed photo, per photo.
        public let photoSeconds: [Double]
        public let photoBytes: Int
    }

    let target: BenchTarget
    let settings: Settings
    let log: @Sendable (String) -> Void

    public init(target: BenchTarget, settings: Settings, log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.target = target
        self.settings = settings
        self.log = log
    }

    public func run() async throws -> Result {
        let user = try await target.registerUsers(count: 1, concurrency: 1)[0]
        let pid = LinuxProcess.listener(onPort: target.port)
        var rounds: [Round] = []
        for round in 1...settings.rounds {
            log("media: round \(round): \(settings.megabytes) MB up and down…")
            rounds.append(try await transfer(as: user, pid: pid))
        }
        var photoSeconds: [Double] = []
        var photoBytes = 0
        if settings.photos > 0 {
            let photo = try Self.makePhoto(megapixels: settings.photoMegapixels)
            photoBytes = photo.count
            for index in 1...settings.photos {
                log("media: photo \(index) of \(settings.photos) (\(settings.photoMegapixels) MP, \(photo.count / 1024) KB)…")
                let id = try await create(as: user, size: Int64(photo.count), sha256: Self.hex(SHA256.hash(data: photo)), kind: "photo", mime: "image/jpeg")
                try await patch(id, as: user, offset: 0, body: .bytes(ByteBuffer(bytes: photo)))
                let started = MonotonicClock.nanoseconds()
                try await complete(id, as: user)
                photoSeconds.append(Double(MonotonicClock.nanoseconds() - started) / 1e9)
            }
        }
        return Result(megabytes: settings.megabytes, partBytes: settings.partBytes, rounds: rounds, photoSeconds: photoSeconds, photoBytes: photoBytes)
    }

    private func transfer(as user: BenchUser, pid: Int32?) async throws -> Round {
        let size = settings.megabytes * 1_048_576
        var hash = SHA256()
        for index in 0..<settings.megabytes { Self.block(index).withUnsafeBytes { hash.update(bufferPointer: $0) } }
        let id = try await create(as: user, size: Int64(size), sha256: Self.hex(hash.finalize()), kind: "file", mime: "application/octet-stream")

        let baseline = pid.flatMap { try? LinuxProcess.residentBytes(of: $0) }
        let peak = PeakSampler(pid: pid)
        let sampler = Task { await peak.run() }
        let started = MonotonicClock.nanoseconds()
        if settings.partBytes > 0 {
            var offset = 0
            while offset < size {
                let end = min(offset + settings.partBytes, size)
                try await patch(id, as: user, offset: offset, body: .bytes(Self.bytes(offset..<end)))
                offset = end
            }
        } else {
            let stream = AsyncStream<ByteBuffer> { continuation in
                for index in 0..<settings.megabytes { continuation.yield(ByteBuffer(bytes: Self.block(index))) }
                continuation.finish()
            }
            try await patch(id, as: user, offset: 0, body: .stream(stream, length: .known(Int64(size))))
        }
        let uploaded = MonotonicClock.nanoseconds()
        sampler.cancel()
        let peakRSS = await peak.peak
        try await complete(id, as: user)
        let completed = MonotonicClock.nanoseconds()

        var request = HTTPClientRequest(url: "\(target.baseURL)/api/v1/media/\(id)/content")
        request.headers.add(name: "Authorization", value: "Bearer \(user.token)")
        let downloadStart = MonotonicClock.nanoseconds()
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(3600))
        guard response.status == .ok else { throw BenchError("download: \(response.status)") }
        var received = 0
        for try await buffer in response.body { received += buffer.readableBytes }
        let downloaded = MonotonicClock.nanoseconds()
        guard received == size else { throw BenchError("download: \(received) of \(size) bytes") }
        _ = try? await call(.DELETE, "/api/v1/uploads/\(id)", as: user)

        let megabytes = Double(size) / 1_000_000
        return Round(
            uploadMBps: megabytes / (Double(uploaded - started) / 1e9), completeSeconds: Double(completed - uploaded) / 1e9,
            downloadMBps: megabytes / (Double(downloaded - downloadStart) / 1e9),
            serverRSSGrowthBytes: baseline.flatMap { base in peakRSS.map { max(0, $0 - base) } }
        )
    }

    // MARK: Requests

    private func create(as user: BenchUser, size: Int64, sha256: String, kind: String, mime: String) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["size": size, "mime_type": mime, "file_name": "bench.bin", "sha256": sha256, "kind": kind])
        let answer = try await call(.POST, "/api/v1/uploads", as: user, json: body)
        guard answer.status == .created, let id = (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["id"] as? String else {
            throw BenchError("create upload: \(answer.status) \(String(decoding: answer.body, as: UTF8.self))")
        }
        return id
    }

    private func patch(_ id: String, as user: BenchUser, offset: Int, body: HTTPClientRequest.Body) async throws {
        var request = HTTPClientRequest(url: "\(target.baseURL)/api/v1/uploads/\(id)")
        request.method = .PATCH
        request.headers.add(name: "Authorization", value: "Bearer \(user.token)")
        request.headers.add(name: "Upload-Offset", value: String(offset))
        request.headers.add(name: "Content-Type", value: "application/offset+octet-stream")
        request.body = body
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(3600))
        guard response.status == .noContent else {
            let text = try await response.body.collect(upTo: 64 * 1024)
            throw BenchError("upload part at \(offset): \(response.status) \(String(buffer: text))")
        }
    }

    private func complete(_ id: String, as user: BenchUser) async throws {
        let answer = try await call(.POST, "/api/v1/uploads/\(id)/complete", as: user)
        guard answer.status == .created else { throw BenchError("complete: \(answer.status) \(String(decoding: answer.body, as: UTF8.self))") }
    }

    private func call(_ method: HTTPMethod, _ path: String, as user: BenchUser, json: Data? = nil) async throws -> (status: HTTPResponseStatus, body: Data) {
        var request = HTTPClientRequest(url: target.baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(user.token)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(600))
        return (response.status, Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    // MARK: Data

    /// MiB `index` of the generated file: a fixed pseudo-random block with the index written into it.
    static func block(_ index: Int) -> [UInt8] {
        var bytes = baseBlock
        withUnsafeBytes(of: UInt64(index).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        return bytes
    }

    static func bytes(_ range: Range<Int>) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: range.count)
        var position = range.lowerBound
        while position < range.upperBound {
            let index = position / 1_048_576
            let start = position % 1_048_576
            let take = min(1_048_576 - start, range.upperBound - position)
            buffer.writeBytes(block(index)[start..<(start + take)])
            position += take
        }
        return buffer
    }

    static let baseBlock: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<1_048_576).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }()

    /// A photo-like JPEG of about `megapixels` (blurred noise, 4:3), made with `vips`.
    static func makePhoto(megapixels: Int) throws -> [UInt8] {
        let width = Int((Double(megapixels) * 1_000_000 * 4 / 3).squareRoot())
        let height = width * 3 / 4
        let folder = NSTemporaryDirectory() + "courier-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (tool, arguments) in [
            ("vips", ["gaussnoise", "\(folder)/noise.v", "\(width)", "\(height)", "--sigma", "60"]),
            ("vips", ["gaussblur", "\(folder)/noise.v", "\(folder)/blur.v", "3"]),
            ("vips", ["bandjoin", "\(folder)/blur.v \(folder)/noise.v \(folder)/blur.v", "\(folder)/rgb.v"]),
            ("vips", ["copy", "\(folder)/rgb.v", "\(folder)/photo.jpg[Q=90]"]),
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
            process.arguments = arguments
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw BenchError("making the test photo needs vips (libvips-tools): \(tool) \(arguments) failed") }
        }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder)/photo.jpg")))
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}

/// Samples a process's resident memory every 50 ms and keeps the highest.
actor PeakSampler {
    let pid: Int32?
    private(set) var peak: Int?

    init(pid: Int32?) {
        self.pid = pid
    }

    func run() async {
        guard let pid else { return }
        while !Task.isCancelled {
            if let rss = try? LinuxProcess.residentBytes(of: pid) { peak = max(peak ?? 0, rss) }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

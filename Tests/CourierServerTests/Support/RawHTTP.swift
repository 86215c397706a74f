import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// HTTP spoken byte by byte over a plain socket, for what a ready-made client will not do: read the
/// answer to a WebSocket upgrade request, or reset the connection in the middle of one.
///
/// The socket calls block (each bounded by a timeout), so they run on threads of their own: on
/// the threads that run tasks, or on NIO's shared pool (where SQLite's statements run), they would
/// starve the server under test while it is asked to answer.
enum RawHTTP {
    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    static func exchange(port: Int, _ request: String, timeoutSeconds: Int = 20) async throws -> Answer {
        try await threads.runIfActive { try blockingExchange(port: port, request, timeoutSeconds: timeoutSeconds) }
    }

    static func sendAndReset(port: Int, _ request: String) async throws {
        try await threads.runIfActive { try blockingSendAndReset(port: port, request) }
    }

    static func openSilentWebSocket(port: Int, path: String) async throws -> Int32 {
        try await threads.runIfActive { try blockingOpenSilentWebSocket(port: port, path: path) }
    }

    /// How a flood of frames ended (`flood`).
    enum FloodOutcome: Sendable, Equatable {
        /// The peer stopped reading: the bytes the socket took in the `seconds` after it first took no more.
        case heldBack(bytesAfterFull: Int)
        /// The peer ended the connection after taking this many bytes.
        case cut(afterBytes: Int)
        /// The peer took `limit` bytes as fast as they came.
        case takenAtFullSpeed
    }

    /// Writes `frame` over and over without waiting (and reads nothing), whole frames only, until
    /// the peer ends the connection, or the socket first takes no more and `seconds` pass, or
    /// `limit` bytes were taken.
    static func flood(_ socket: Int32, with frame: [UInt8], seconds: Double, limit: Int) async throws -> FloodOutcome {
        try await threads.runIfActive {
            let burst = Array((0..<max(1, 65_536 / frame.count)).map { _ in frame }.joined())
            var total = 0
            var offset = 0  // into `burst`: a short write is continued, so no frame is cut
            var sinceFull = 0
            var fullAt: ContinuousClock.Instant?
            while total < limit {
                if let fullAt, ContinuousClock.now - fullAt > .seconds(seconds) { return .heldBack(bytesAfterFull: sinceFull) }
                let sent = burst.withUnsafeBytes { bytes in
                    Glibc.send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                }
                if sent > 0 {
                    total += sent
                    if fullAt != nil { sinceFull += sent }
                    offset = (offset + sent) % burst.count
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    if fullAt == nil { fullAt = .now }
                    usleep(10_000)
                } else if errno == ECONNRESET || errno == EPIPE {
                    return .cut(afterBytes: total)
                } else {
                    throw RawHTTPError("send: \(errno)")
                }
            }
            return .takenAtFullSpeed
        }
    }

    /// A WebSocket upgrade request for `path`.
    static func upgradeRequest(_ path: String, headers: [String] = []) -> String {
        ([
            "GET \(path) HTTP/1.1", "Host: 127.0.0.1", "Connection: Upgrade", "Upgrade: websocket",
            "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ] + headers).joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// The answer's status and body.
    struct Answer: Sendable {
        let status: Int
        let headers: String
        let body: String

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    /// Sends `request` and reads the answer: its head, and the body `Content-Length` announces.
    private static func blockingExchange(port: Int, _ request: String, timeoutSeconds: Int) throws -> Answer {
        let socket = try connect(port: port, timeoutSeconds: timeoutSeconds)
        defer { close(socket) }
        try send(socket, request)
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let split = text.range(of: "\r\n\r\n") {
                let head = String(text[..<split.lowerBound])
                let body = String(text[split.upperBound...])
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if body.utf8.count >= length || head.hasPrefix("HTTP/1.1 101") {
                    let status = Int(head.split(separator: " ")[1]) ?? 0
                    return Answer(status: status, headers: head, body: body)
                }
            }
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { throw RawHTTPError("connection ended after \(received.count) bytes: \(text)") }
            received += buffer[0..<count]
        }
    }

    /// Opens a WebSocket and returns its socket, to be held open without reading or writing (as a
    /// client that went silent); close it with `close(_:)`.
    private static func blockingOpenSilentWebSocket(port: Int, path: String) throws -> Int32 {
        let socket = try connect(port: port, timeoutSeconds: 20)
        try send(socket, upgradeRequest(path))
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1)
        // Byte by byte up to the end of the 101's head, so that nothing after it is read.
        while !received.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
            guard recv(socket, &buffer, 1, 0) == 1 else {
                Glibc.close(socket)
                throw RawHTTPError("no answer to the upgrade")
            }
            received += buffer
        }
        guard String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
            Glibc.close(socket)
            throw RawHTTPError("upgrade refused: \(String(decoding: received, as: UTF8.self))")
        }
        return socket
    }

    static func close(_ socket: Int32) { Glibc.close(socket) }

    /// A frame the server sent: its opcode and payload.
    struct ServerFrame: Sendable {
        let opcode: UInt8
        let payload: [UInt8]

        /// A close frame's code, nil for other frames (or a close without one).
        var closeCode: UInt16? {
            guard opcode == 0x8, payload.count >= 2 else { return nil }
            return UInt16(payload[0]) << 8 | UInt16(payload[1])
        }
    }

    /// Reads the server's frames on an open WebSocket until the server ends the connection (a close,
    /// a reset), `timeoutSeconds` pass without a byte, or the frames read satisfy `enough`.
    static func readFrames(
        _ socket: Int32, timeoutSeconds: Int, until enough: @escaping @Sendable ([ServerFrame]) -> Bool = { _ in false }
    ) async throws -> [ServerFrame] {
        try await threads.runIfActive {
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var received = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                received += buffer[0..<count]
                if enough(parseFrames(received)) { break }
            }
            return parseFrames(received)
        }
    }

    /// The unmasked frames in `bytes`, up to the last whole one.
    private static func parseFrames(_ bytes: [UInt8]) -> [ServerFrame] {
        var frames: [ServerFrame] = []
        var offset = 0
        while offset + 2 <= bytes.count {
            var length = Int(bytes[offset + 1] & 0x7F)
            var header = 2
            if length == 126, offset + 4 <= bytes.count {
                length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                header = 4
            } else if length == 127, offset + 10 <= bytes.count {
                length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
                header = 10
            }
            guard offset + header + length <= bytes.count else { break }
            frames.append(ServerFrame(opcode: bytes[offset] & 0x0F, payload: Array(bytes[(offset + header)..<(offset + header + length)])))
            offset += header + length
        }
        return frames
    }

    /// Sends one text frame on an open WebSocket (masked, as a client must; a short write on loopback).
    static func sendTextFrame(_ socket: Int32, _ text: String) throws {
        try sendFrame(socket, opcode: 0x1, fin: true, Array(text.utf8))
    }

    /// Sends one frame of `opcode` (a fragment unless `fin`) on an open WebSocket, masked with a
    /// zero mask: the payload goes as it is.
    /// `masked: false` breaks the rule that a client masks every frame.
    static func sendFrame(_ socket: Int32, opcode: UInt8, fin: Bool, masked: Bool = true, _ payload: [UInt8]) throws {
        let mask: UInt8 = masked ? 0x80 : 0
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch payload.count {
        case ..<126: frame.append(mask | UInt8(payload.count))
        case ..<65536: frame += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame += [mask | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        frame += (masked ? [0, 0, 0, 0] : []) + payload
        try send(socket, bytes: frame)
    }

    /// Sends `request` and at once resets the connection (RST), as a client that vanishes mid-handshake.
    private static func blockingSendAndReset(port: Int, _ request: String) throws {
        let socket = try connect(port: port, timeoutSeconds: 5)
        try send(socket, request)
        var hard = linger(l_onoff: 1, l_linger: 0)
        setsockopt(socket, SOL_SOCKET, SO_LINGER, &hard, socklen_t(MemoryLayout<linger>.size))
        close(socket)
    }

    private static func connect(port: Int, timeoutSeconds: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw RawHTTPError("socket: \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(socket)
            throw RawHTTPError("connect: \(errno)")
        }
        return socket
    }

    private static func send(_ socket: Int32, _ text: String) throws {
        try send(socket, bytes: Array(text.utf8))
    }

    private static func send(_ socket: Int32, bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBufferPointer { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw RawHTTPError("send: \(errno)") }
            offset += sent
        }
    }
}

struct RawHTTPError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

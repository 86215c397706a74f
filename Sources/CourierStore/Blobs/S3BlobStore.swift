import AsyncHTTPClient
import Foundation
import NIOCore

/// Media chunks in a bucket of an S3-compatible service, so several nodes can share them.
///
/// Chunk `i` of blob `b` is the object `<keyPrefix><b>/<i>`, addressed path-style
/// (`<endpoint>/<bucket>/<key>`) and signed with AWS Signature V4 in the Authorization header;
/// a PUT's body is signed too (its SHA-256 is `x-amz-content-sha256`, which S3 checks). S3 writes
/// an object whole or not at all and a PUT replaces it, as `BlobStore` requires.
///
/// Each request has 30 seconds (by default) to complete. Errors say what failed, the HTTP status
/// and S3's error code, never the secret (which is never sent either).
///
/// The access key needs `s3:PutObject`, `s3:GetObject` and `s3:DeleteObject` on the keys under the
/// prefix and `s3:ListBucket` on the bucket: without the latter S3 answers a missing chunk with 403
/// AccessDenied instead of 404, and `checkBucket()` fails.
public struct S3BlobStore: BlobStore {
    /// How many chunks `delete` removes at a time.
    static let deleteConcurrency = 8
    /// The largest chunk `get` reads; chunks are about 1 MiB.
    static let maxObjectBytes = 8 * 1024 * 1024
    /// How much of an error answer is read for its `<Code>` and `<Message>`.
    static let maxErrorBodyBytes = 64 * 1024

    private let endpoint: S3Endpoint
    private let bucket: String
    private let keyPrefix: String
    private let signer: SigV4Signer
    private let http: HTTPClient
    private let timeout: TimeAmount

    /// A store over the bucket `configuration` names.
    ///
    /// - Parameters:
    ///   - httpClient: the client to send requests with; `HTTPClient.shared` by default.
    ///   - timeout: how long each request may take, answer body included.
    /// - Throws: `S3ConfigurationError` when the configuration cannot work (see `S3Configuration.validate()`).
    public init(configuration: S3Configuration, httpClient: HTTPClient = .shared, timeout: TimeAmount = .seconds(30)) throws {
        try configuration.validate()
        self.endpoint = try S3Endpoint(configuration.endpoint)
        self.bucket = configuration.bucket
        self.keyPrefix = configuration.keyPrefix
        self.signer = SigV4Signer(
            accessKeyID: configuration.accessKeyID,
            secretAccessKey: configuration.secretAccessKey,
            region: configuration.region
        )
        self.http = httpClient
        self.timeout = timeout
    }

    // MARK: - BlobStore

    /// Stores chunk `index` of `blob` (one PUT; it replaces an earlier version).
    public func put(blob: String, chunk index: Int, bytes: ByteBuffer) async throws {
        let key = try objectKey(blob: blob, index: index)
        let payloadHash = bytes.withUnsafeReadableBytes { SigV4Signer.payloadHash($0) }
        let operation = "PUT \(bucket)/\(key)"
        let response = try await send(.PUT, path: objectPath(key), body: bytes, payloadHash: payloadHash, operation: operation)
        guard (200..<300).contains(response.status.code) else {
            let failure = await Self.failure(operation, response)
            throw failure
        }
        _ = await Self.read(response.body, upTo: Self.maxErrorBodyBytes)
    }

    /// Chunk `index` of `blob`, or nil when S3 answers 404 NoSuchKey.
    public func get(blob: String, chunk index: Int) async throws -> ByteBuffer? {
        let key = try objectKey(blob: blob, index: index)
        let operation = "GET \(bucket)/\(key)"
        let response = try await send(.GET, path: objectPath(key), operation: operation)
        switch response.status.code {
        case 200:
            do {
                return try await response.body.collect(upTo: Self.maxObjectBytes)
            } catch is NIOTooManyBytesError {
                throw S3Error(operation: operation, status: 200, code: nil,
                              message: "the object is larger than \(Self.maxObjectBytes) bytes, which no chunk is")
            } catch {
                throw S3Error(operation: operation, transport: error)
            }
        case 404:
            let failure = await Self.failure(operation, response)
            // A missing key is an answer; a missing bucket (NoSuchBucket) is a broken setup.
            guard failure.code == nil || failure.code == "NoSuchKey" else { throw failure }
            return nil
        default:
            let failure = await Self.failure(operation, response)
            throw failure
        }
    }

    /// Deletes chunks `0..<chunkCount` of `blob`, `deleteConcurrency` at a time; a chunk that is not
    /// there is no error. Throws the first failure (the other deletes still under way are cancelled).
    public func delete(blob: String, chunkCount: Int) async throws {
        _ = try objectKey(blob: blob, index: 0)
        guard chunkCount > 0 else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            while next < min(chunkCount, Self.deleteConcurrency) {
                let index = next
                group.addTask { try await self.deleteChunk(blob: blob, index: index) }
                next += 1
            }
            while try await group.next() != nil {
                if next < chunkCount {
                    let index = next
                    group.addTask { try await self.deleteChunk(blob: blob, index: index) }
                    next += 1
                }
            }
        }
    }

    /// Checks, with a HEAD on the bucket, that the endpoint answers, the bucket exists and the key
    /// may use it. A server calls it at start so a wrong setting stops it with a clear message
    /// instead of failing the first upload.
    ///
    /// - Throws: `S3Error` saying what is wrong (unreachable endpoint, no such bucket, refused
    ///   credentials, another region).
    public func checkBucket() async throws {
        let operation = "HEAD \(bucket)"
        let response: HTTPClientResponse
        do {
            response = try await send(.HEAD, path: bucketPath, operation: operation)
        } catch let error as S3Error {
            throw S3Error(operation: operation, status: nil, code: nil,
                          message: "the S3 endpoint \(endpoint.base) does not answer (\(error.message ?? "no answer"))")
        }
        _ = await Self.read(response.body, upTo: Self.maxErrorBodyBytes)
        let status = Int(response.status.code)
        let bucketRegion = response.headers.first(name: "x-amz-bucket-region").map(Self.printable)
        if (200..<300).contains(status) { return }
        let message: String
        if let bucketRegion, bucketRegion != signer.region, [301, 307, 400].contains(status) {
            message = "the bucket \(bucket) is in region \(bucketRegion), but the region configured is \(signer.region) (COURIER_S3_REGION)"
        } else {
            switch status {
            case 404:
                message = "there is no bucket \(bucket) at \(endpoint.base): create it, or fix COURIER_S3_BUCKET or COURIER_S3_ENDPOINT"
            case 403:
                message = "access to the bucket \(bucket) at \(endpoint.base) is refused: check the access key ID, the secret access key "
                    + "and the region (\(signer.region)), and that the key may use this bucket"
            case 301, 307:
                message = "the endpoint \(endpoint.base) redirects requests for the bucket \(bucket): it is probably in another region; "
                    + "set COURIER_S3_ENDPOINT to that region's endpoint and COURIER_S3_REGION to the region"
            default:
                message = "the S3 endpoint \(endpoint.base) answered HTTP \(status) for the bucket \(bucket)"
            }
        }
        throw S3Error(operation: operation, status: status, code: nil, message: message)
    }

    // MARK: - Requests

    private enum Method: String {
        case GET, PUT, DELETE, HEAD
    }

    private func deleteChunk(blob: String, index: Int) async throws {
        let key = try objectKey(blob: blob, index: index)
        let operation = "DELETE \(bucket)/\(key)"
        let response = try await send(.DELETE, path: objectPath(key), operation: operation)
        let status = response.status.code
        if (200..<300).contains(status) {
            _ = await Self.read(response.body, upTo: Self.maxErrorBodyBytes)
            return
        }
        let failure = await Self.failure(operation, response)
        // S3 itself answers 204 for a missing key; some services answer 404 NoSuchKey.
        if status == 404, failure.code == nil || failure.code == "NoSuchKey" { return }
        throw failure
    }

    /// `<prefix><blob>/<index>`, for a blob name that is one non-empty path segment.
    private func objectKey(blob: String, index: Int) throws -> String {
        guard !blob.isEmpty, blob != ".", blob != "..", blob.utf8.count <= 512,
              blob.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "/") })
        else {
            throw S3Error(operation: "use blob", status: nil, code: nil, message: "the blob name \"\(Self.printable(blob))\" is not one path segment")
        }
        guard index >= 0 else {
            throw S3Error(operation: "use blob \(blob)", status: nil, code: nil, message: "the chunk index \(index) is negative")
        }
        return "\(keyPrefix)\(blob)/\(index)"
    }

    /// `/<bucket>/<key>`, URI-encoded as S3 signs it (slashes of the key kept).
    private func objectPath(_ key: String) -> String {
        "\(bucketPath)/\(SigV4Signer.uriEncode(key, encodeSlash: false))"
    }

    private var bucketPath: String { "/" + SigV4Signer.uriEncode(bucket, encodeSlash: true) }

    /// Signs and sends a request; an error before any answer becomes an `S3Error` without the URL's
    /// details beyond the endpoint.
    private func send(
        _ method: Method, path: String, body: ByteBuffer? = nil,
        payloadHash: String = SigV4Signer.emptyPayloadHash, operation: String
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: endpoint.base + path)
        switch method {
        case .GET: request.method = .GET
        case .PUT: request.method = .PUT
        case .DELETE: request.method = .DELETE
        case .HEAD: request.method = .HEAD
        }
        let signed = signer.headers(method: method.rawValue, host: endpoint.authority, path: path, payloadHash: payloadHash, date: Date())
        for (name, value) in signed {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.body = .bytes(body)
        }
        do {
            return try await http.execute(request, timeout: timeout)
        } catch {
            throw S3Error(operation: operation, transport: error)
        }
    }

    // MARK: - Answers

    /// The error for a non-2xx answer, with S3's `<Code>` and `<Message>` from at most
    /// `maxErrorBodyBytes` of its XML body.
    private static func failure(_ operation: String, _ response: HTTPClientResponse) async -> S3Error {
        let bytes = await read(response.body, upTo: maxErrorBodyBytes)
        let body = String(buffer: bytes)
        return S3Error(
            operation: operation,
            status: Int(response.status.code),
            code: xmlElement("Code", in: body),
            message: xmlElement("Message", in: body)
        )
    }

    /// Up to `limit` bytes of a body; the rest is left unread (the connection is then closed), and a
    /// body that breaks off yields what came.
    private static func read(_ body: HTTPClientResponse.Body, upTo limit: Int) async -> ByteBuffer {
        var collected = ByteBuffer()
        do {
            for try await part in body {
                let room = limit - collected.readableBytes
                if part.readableBytes >= room {
                    if room > 0, let slice = part.getSlice(at: part.readerIndex, length: room) {
                        collected.writeImmutableBuffer(slice)
                    }
                    break
                }
                collected.writeImmutableBuffer(part)
            }
        } catch {
            // What came is all there is.
        }
        return collected
    }

    /// The text of the first `<name>…</name>` in an XML document, unescaped and made printable.
    static func xmlElement(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"),
              let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        let text = xml[open.upperBound..<close.lowerBound]
            .replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
        let printable = Self.printable(text)
        return printable.isEmpty ? nil : printable
    }

    /// At most 300 characters, control characters replaced by spaces, for messages from outside.
    static func printable(_ text: String) -> String {
        let cleaned = String(text.unicodeScalars.prefix(300).map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return cleaned.trimmingCharacters(in: .whitespaces)
    }
}

/// A request to S3 that failed: no answer, or an answer that is not a success.
///
/// Its description names the operation (`PUT bucket/key`), the HTTP status, S3's error code and
/// message, and a hint for the codes a setting causes. It never contains the secret.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    /// What was being done, e.g. `GET media-bucket/media/abc/0`.
    public let operation: String
    /// The HTTP status of the answer, or nil when none came.
    public let status: Int?
    /// S3's error code from the answer's XML (`NoSuchBucket`, `AccessDenied`, `SignatureDoesNotMatch`, …).
    public let code: String?
    /// S3's message, or what went wrong when no answer came.
    public let message: String?

    init(operation: String, status: Int?, code: String?, message: String?) {
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message
    }

    /// A failure before any answer (connection refused, timeout, TLS, …).
    init(operation: String, transport error: any Error) {
        self.init(operation: operation, status: nil, code: nil, message: S3BlobStore.printable(String(describing: error)))
    }

    public var description: String {
        var text = "S3 \(operation) failed"
        if let status { text += ": HTTP \(status)" }
        if let code { text += (status == nil ? ": " : " ") + code }
        if let message { text += ": " + message }
        if let hint { text += " (\(hint))" }
        return text
    }

    /// What to check, for the codes a wrong setting causes.
    private var hint: String? {
        switch code ?? "" {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId":
            "check COURIER_S3_ACCESS_KEY_ID and COURIER_S3_SECRET_ACCESS_KEY"
        case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
            "check COURIER_S3_REGION and COURIER_S3_ENDPOINT"
        case "NoSuchBucket":
            "check COURIER_S3_BUCKET, or create the bucket"
        case "RequestTimeTooSkewed":
            "this machine's clock is off by more than 15 minutes"
        case "AccessDenied":
            "the access key may not do this on the bucket"
        default:
            nil
        }
    }
}

import Foundation
import NIOCore
import Testing

@testable import CourierStore

/// The S3 server the live tests use. `scripts/test` starts moto (scripts/lib/s3.sh) with request
/// authentication on and sets these; without `COURIER_TEST_S3_ENDPOINT` the live suite is skipped.
enum S3TestServer {
    static let environment = ProcessInfo.processInfo.environment

    /// The server's settings, with a key prefix of this run's own so runs and tests never meet.
    static let configuration: S3Configuration? = {
        guard let endpoint = environment["COURIER_TEST_S3_ENDPOINT"], !endpoint.isEmpty else { return nil }
        return S3Configuration(
            endpoint: endpoint,
            bucket: environment["COURIER_TEST_S3_BUCKET"] ?? "courier-test",
            region: environment["COURIER_TEST_S3_REGION"] ?? "us-east-1",
            accessKeyID: environment["COURIER_TEST_S3_ACCESS_KEY_ID"] ?? "",
            secretAccessKey: environment["COURIER_TEST_S3_SECRET_ACCESS_KEY"] ?? "",
            keyPrefix: "test-\(UUID().uuidString.lowercased())/"
        )
    }()

    static var isSet: Bool { configuration != nil }

    static func store(timeout: TimeAmount = .seconds(30), _ change: (inout S3Configuration) -> Void = { _ in }) throws -> S3BlobStore {
        var configuration = try #require(Self.configuration)
        change(&configuration)
        return try S3BlobStore(configuration: configuration, timeout: timeout)
    }

    static func blobName() -> String { UUID().uuidString.lowercased() }
}

@Suite("S3 request signing (AWS Signature V4)")
struct SigV4SignerTests {
    // The examples of AWS's S3 documentation ("Signature Calculations for the Authorization
    // Header: Transferring Payload in a Single Chunk"): bucket examplebucket, 2013-05-24 00:00:00 UTC.
    static let signer = SigV4Signer(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region: "us-east-1"
    )
    static let host = "examplebucket.s3.amazonaws.com"
    static let date = Date(timeIntervalSince1970: 1_369_353_600)

    @Test func awsGetObjectExample() {
        let signed = Self.signer.sign(
            method: "GET", host: Self.host, path: "/test.txt", headers: [("Range", "bytes=0-9")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.date
        )
        #expect(signed.canonicalRequest == """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(signed.stringToSign == """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
            """)
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")

        let headers = Dictionary(uniqueKeysWithValues: signed.headers.map { ($0.name, $0.value) })
        #expect(headers["Authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(headers["host"] == Self.host)
        #expect(headers["x-amz-date"] == "20130524T000000Z")
        #expect(headers["x-amz-content-sha256"] == SigV4Signer.emptyPayloadHash)
        #expect(signed.headers.count == 4)
    }

    @Test func awsPutObjectExample() {
        let body = Data("Welcome to Amazon S3.".utf8)
        let payloadHash = body.withUnsafeBytes { SigV4Signer.payloadHash($0) }
        #expect(payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let path = "/" + SigV4Signer.uriEncode("test$file.text", encodeSlash: false)
        #expect(path == "/test%24file.text")
        let signed = Self.signer.sign(
            method: "PUT", host: Self.host, path: path,
            headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            payloadHash: payloadHash, date: Self.date
        )
        #expect(signed.stringToSign.hasSuffix("\n9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"))
        #expect(signed.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        #expect(signed.canonicalRequest.contains("\ndate;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"))
    }

    @Test func awsGetBucketLifecycleExample() {
        let signed = Self.signer.sign(
            method: "GET", host: Self.host, path: "/", query: [("lifecycle", "")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.date
        )
        #expect(signed.canonicalRequest.hasPrefix("GET\n/\nlifecycle=\n"))
        #expect(signed.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func awsListObjectsExample() {
        // Given out of order: the canonical query sorts them.
        let signed = Self.signer.sign(
            method: "GET", host: Self.host, path: "/", query: [("prefix", "J"), ("max-keys", "2")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.date
        )
        #expect(signed.canonicalRequest.hasPrefix("GET\n/\nmax-keys=2&prefix=J\n"))
        #expect(signed.stringToSign.hasSuffix("\ndf57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7"))
        #expect(signed.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func headersAreCanonicalized() {
        let signed = Self.signer.sign(
            method: "GET", host: "h", path: "",
            headers: [("X-Amz-Meta-Note", "  a   b  "), ("x-amz-meta-note", "c"), ("X-Amz-Date", "ignored"), ("HOST", "ignored")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.date
        )
        #expect(signed.canonicalRequest == """
            GET
            /

            host:h
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z
            x-amz-meta-note:a b,c

            host;x-amz-content-sha256;x-amz-date;x-amz-meta-note
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
    }

    @Test func uriEncoding() {
        #expect(SigV4Signer.uriEncode("media/abc-DEF_0.9~/12", encodeSlash: false) == "media/abc-DEF_0.9~/12")
        #expect(SigV4Signer.uriEncode("a b+c=d&e$f/ü", encodeSlash: false) == "a%20b%2Bc%3Dd%26e%24f/%C3%BC")
        #expect(SigV4Signer.uriEncode("a/b", encodeSlash: true) == "a%2Fb")
        #expect(SigV4Signer.canonicalQueryString([("b", "x y"), ("a", "2"), ("a", "1"), ("empty", "")]) == "a=1&a=2&b=x%20y&empty=")
    }

    @Test func amzDateIsUTCAndTruncatesFractions() {
        let cases: [(TimeInterval, String)] = [
            (0, "19700101T000000Z"),
            (-1, "19691231T235959Z"),
            (951_782_400, "20000229T000000Z"),
            (951_868_799.999, "20000229T235959Z"),
            (1_709_251_199.5, "20240229T235959Z"),
            (4_102_444_800, "21000101T000000Z"),
            (1_369_353_600, "20130524T000000Z"),
        ]
        for (seconds, expected) in cases {
            #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: seconds)) == expected, "\(seconds)")
        }
        // Against Foundation's formatter (one of this test's own) on random whole seconds.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: TimeInterval(Int64.random(in: -2_000_000_000...8_000_000_000)))
            #expect(SigV4Signer.amzDate(date) == formatter.string(from: date))
        }
    }
}

@Suite("S3 settings")
struct S3ConfigurationTests {
    static let complete = [
        "COURIER_S3_ENDPOINT": "http://127.0.0.1:9000",
        "COURIER_S3_BUCKET": "media",
        "COURIER_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "COURIER_S3_SECRET_ACCESS_KEY": "super-secret-value",
    ]

    @Test func environment() throws {
        #expect(try S3Configuration.fromEnvironment([:]) == nil)
        #expect(try S3Configuration.fromEnvironment(["COURIER_S3_ENDPOINT": "http://127.0.0.1:9000", "COURIER_S3_BUCKET": ""]) == nil)

        let configuration = try #require(try S3Configuration.fromEnvironment(Self.complete))
        #expect(configuration == S3Configuration(
            endpoint: "http://127.0.0.1:9000", bucket: "media", region: "us-east-1",
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "super-secret-value", keyPrefix: "media/"
        ))

        var aws = Self.complete
        aws["COURIER_S3_ACCESS_KEY_ID"] = nil
        aws["COURIER_S3_SECRET_ACCESS_KEY"] = nil
        aws["AWS_ACCESS_KEY_ID"] = "AKIDFROMAWS"
        aws["AWS_SECRET_ACCESS_KEY"] = "aws-secret-value"
        aws["COURIER_S3_REGION"] = "eu-central-1"
        aws["COURIER_S3_KEY_PREFIX"] = ""
        let fromAWS = try #require(try S3Configuration.fromEnvironment(aws))
        #expect(fromAWS.accessKeyID == "AKIDFROMAWS")
        #expect(fromAWS.secretAccessKey == "aws-secret-value")
        #expect(fromAWS.region == "eu-central-1")
        #expect(fromAWS.keyPrefix == "")

        // COURIER_S3_* wins over AWS_*.
        var both = Self.complete
        both["AWS_SECRET_ACCESS_KEY"] = "other"
        #expect(try S3Configuration.fromEnvironment(both)?.secretAccessKey == "super-secret-value")
    }

    @Test(arguments: [
        "COURIER_S3_ENDPOINT", "COURIER_S3_ACCESS_KEY_ID", "COURIER_S3_SECRET_ACCESS_KEY",
    ])
    func aMissingSettingIsExplained(name: String) {
        var environment = Self.complete
        environment[name] = nil
        do {
            _ = try S3Configuration.fromEnvironment(environment)
            Issue.record("no error without \(name)")
        } catch {
            #expect(String(describing: error).contains(name))
            #expect(!String(describing: error).contains("super-secret-value"))
        }
    }

    @Test(arguments: [
        "ftp://127.0.0.1", "127.0.0.1:9000", "s3.amazonaws.com", "http://", "https://host/bucket", "http://host?x=1",
        "http://user:pass@host", "http://host:0", "http://host:99999", "http://host:", "http://ho st", "http://[::1",
    ])
    func aBadEndpointIsRefused(endpoint: String) {
        var environment = Self.complete
        environment["COURIER_S3_ENDPOINT"] = endpoint
        #expect(throws: S3ConfigurationError.self) { try S3Configuration.fromEnvironment(environment) }
    }

    @Test func endpointsAreTakenApart() throws {
        let cases: [(String, String)] = [
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
            ("HTTP://LocalHost:9000/", "http://localhost:9000"),
            ("https://s3.eu-central-1.amazonaws.com", "https://s3.eu-central-1.amazonaws.com"),
            ("https://s3.amazonaws.com:443", "https://s3.amazonaws.com"),
            ("http://minio:80", "http://minio"),
            ("http://[::1]:9000", "http://[::1]:9000"),
        ]
        for (endpoint, base) in cases {
            #expect(try S3Endpoint(endpoint).base == base)
        }
        #expect(try S3Endpoint("http://127.0.0.1:9000").authority == "127.0.0.1:9000")
    }

    @Test func theSecretIsNeverShown() throws {
        let configuration = try #require(try S3Configuration.fromEnvironment(Self.complete))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.description, String(describing: configuration), String(reflecting: configuration), dumped, "\(configuration)"] {
            #expect(!text.contains("super-secret-value"))
        }
        #expect(configuration.description.contains("media"))

        // A secret put into the endpoint's URL is refused without being repeated.
        var inURL = Self.complete
        inURL["COURIER_S3_ENDPOINT"] = "https://AKIDEXAMPLE:url-secret-value@s3.amazonaws.com"
        do {
            _ = try S3Configuration.fromEnvironment(inURL)
            Issue.record("credentials in the endpoint were accepted")
        } catch {
            #expect(!String(describing: error).contains("url-secret-value"))
            #expect(String(describing: error).contains("s3.amazonaws.com"))
        }
    }

    @Test func errorsCarryS3sCode() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NoSuchBucket</Code><Message>The specified bucket &amp; key do not exist</Message></Error>
            """
        #expect(S3BlobStore.xmlElement("Code", in: xml) == "NoSuchBucket")
        #expect(S3BlobStore.xmlElement("Message", in: xml) == "The specified bucket & key do not exist")
        #expect(S3BlobStore.xmlElement("Code", in: "<html>Bad Gateway</html>") == nil)
        let error = S3Error(operation: "GET media/media/abc/0", status: 404, code: "NoSuchBucket", message: "gone")
        #expect(error.description == "S3 GET media/media/abc/0 failed: HTTP 404 NoSuchBucket: gone (check COURIER_S3_BUCKET, or create the bucket)")
    }
}

@Suite(
    "S3 blob store against a real server",
    .enabled(if: S3TestServer.isSet, "COURIER_TEST_S3_ENDPOINT is not set (scripts/test starts moto and sets it)")
)
struct S3BlobStoreLiveTests {
    /// 1 MiB of random bytes, the size of a full chunk.
    static func randomChunk(bytes: Int = 1 << 20) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(bytes)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<(bytes / 8) {
            buffer.writeInteger(generator.next() as UInt64)
        }
        return buffer
    }

    /// The S3Error a call throws, or nil (recorded as an issue) when it throws something else or nothing.
    static func s3Error(_ body: () async throws -> Void) async -> S3Error? {
        do {
            try await body()
            Issue.record("no error")
        } catch let error as S3Error {
            return error
        } catch {
            Issue.record("not an S3Error: \(error)")
        }
        return nil
    }

    @Test func theBucketIsThere() async throws {
        try await S3TestServer.store().checkBucket()
    }

    @Test func aMebibyteRoundTrips() async throws {
        let store = try S3TestServer.store()
        let blob = S3TestServer.blobName()
        let chunk = Self.randomChunk()
        let tail = ByteBuffer(string: "the last, short chunk")
        try await store.put(blob: blob, chunk: 0, bytes: chunk)
        try await store.put(blob: blob, chunk: 1, bytes: tail)
        let read = try #require(try await store.get(blob: blob, chunk: 0))
        #expect(read.readableBytes == 1 << 20)
        #expect(read == chunk)
        #expect(try await store.get(blob: blob, chunk: 1) == tail)
        // An empty chunk is a chunk too.
        try await store.put(blob: blob, chunk: 2, bytes: ByteBuffer())
        #expect(try await store.get(blob: blob, chunk: 2) == ByteBuffer())
        try await store.delete(blob: blob, chunkCount: 3)
    }

    @Test func writingAChunkAgainReplacesIt() async throws {
        let store = try S3TestServer.store()
        let blob = S3TestServer.blobName()
        try await store.put(blob: blob, chunk: 0, bytes: Self.randomChunk())
        let second = Self.randomChunk(bytes: 4096)
        try await store.put(blob: blob, chunk: 0, bytes: second)
        #expect(try await store.get(blob: blob, chunk: 0) == second)
        try await store.delete(blob: blob, chunkCount: 1)
    }

    @Test func aMissingChunkIsNil() async throws {
        let store = try S3TestServer.store()
        let blob = S3TestServer.blobName()
        #expect(try await store.get(blob: blob, chunk: 0) == nil)
        try await store.put(blob: blob, chunk: 0, bytes: ByteBuffer(string: "only chunk"))
        #expect(try await store.get(blob: blob, chunk: 1) == nil)
        try await store.delete(blob: blob, chunkCount: 1)
    }

    @Test func deleteRemovesEveryChunkAndMayBeRepeated() async throws {
        let store = try S3TestServer.store()
        let blob = S3TestServer.blobName()
        let other = S3TestServer.blobName()
        // More chunks than are deleted at a time.
        let count = S3BlobStore.deleteConcurrency * 2 + 3
        for index in 0..<count {
            try await store.put(blob: blob, chunk: index, bytes: ByteBuffer(string: "chunk \(index)"))
        }
        try await store.put(blob: other, chunk: 0, bytes: ByteBuffer(string: "another blob"))
        #expect(try await store.get(blob: blob, chunk: count - 1) == ByteBuffer(string: "chunk \(count - 1)"))

        try await store.delete(blob: blob, chunkCount: count)
        for index in 0..<count {
            #expect(try await store.get(blob: blob, chunk: index) == nil, "chunk \(index) is still there")
        }
        try await store.delete(blob: blob, chunkCount: count)
        try await store.delete(blob: S3TestServer.blobName(), chunkCount: 3)
        try await store.delete(blob: blob, chunkCount: 0)
        // Other blobs are untouched.
        #expect(try await store.get(blob: other, chunk: 0) == ByteBuffer(string: "another blob"))
        try await store.delete(blob: other, chunkCount: 1)
    }

    @Test func aWrongSecretIsRefused() async throws {
        let secret = "wrong-secret-" + UUID().uuidString
        let realSecret = try #require(S3TestServer.configuration?.secretAccessKey)
        let store = try S3TestServer.store { $0.secretAccessKey = secret }
        let blob = S3TestServer.blobName()

        let put = await Self.s3Error { try await store.put(blob: blob, chunk: 0, bytes: ByteBuffer(string: "x")) }
        // A refused read is an error, not a missing chunk.
        let get = await Self.s3Error { _ = try await store.get(blob: blob, chunk: 0) }
        let delete = await Self.s3Error { try await store.delete(blob: blob, chunkCount: 2) }
        let check = await Self.s3Error { try await store.checkBucket() }
        for answer in [put, get, delete, check] {
            let error = try #require(answer)
            #expect(error.status == 403, "\(error)")
            #expect(!error.description.contains(secret))
            #expect(!error.description.contains(realSecret))
        }
        #expect(put?.code == "SignatureDoesNotMatch")
    }

    @Test func aMissingBucketIsAnError() async throws {
        let store = try S3TestServer.store { $0.bucket = "no-such-bucket-" + S3TestServer.blobName().prefix(8) }
        let check = try #require(await Self.s3Error { try await store.checkBucket() })
        #expect(check.status == 404)
        #expect(check.description.contains("no-such-bucket-"))
        // Not "no such chunk": the setup is broken.
        let read = try #require(await Self.s3Error { _ = try await store.get(blob: "abc", chunk: 0) })
        #expect(read.code == "NoSuchBucket")
    }

    @Test func anUnreachableEndpointIsAnError() async throws {
        // A port nothing listens on. The HTTP client retries refused connections until the request's
        // time is up, so this one gets 2 seconds.
        let store = try S3TestServer.store(timeout: .seconds(2)) { $0.endpoint = "http://127.0.0.1:1" }
        let error = try #require(await Self.s3Error { try await store.checkBucket() })
        #expect(error.status == nil)
        #expect(error.description.contains("127.0.0.1:1"))
    }
}

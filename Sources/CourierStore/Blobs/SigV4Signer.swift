import CourierCore
import Crypto
import Foundation

/// AWS Signature Version 4 for requests signed in the Authorization header
/// (`AWS4-HMAC-SHA256`), as S3 and the services that copy its API check them.
///
/// Pure and value-typed: no clock, no shared state; the caller passes the time. The steps, in
/// order (AWS: "Authenticating Requests: Using the Authorization Header"):
/// 1. canonical request: method, canonical URI, canonical query string, canonical headers,
///    signed header names, payload hash, one per line;
/// 2. string to sign: `AWS4-HMAC-SHA256`, the time, the scope `<yyyyMMdd>/<region>/<service>/aws4_request`
///    and the SHA-256 of the canonical request, one per line;
/// 3. signing key: HMAC-SHA256 chained from `"AWS4" + secret` over the date, region, service and
///    `aws4_request`; the signature is the hex HMAC of the string to sign under it.
struct SigV4Signer: Sendable {
    let accessKeyID: String
    let secretAccessKey: String
    let region: String
    let service: String

    init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
    }

    /// The SHA-256 of an empty payload, for requests without a body.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// A signature with the texts it was made from, which tests compare with AWS's examples.
    struct Signed: Sendable {
        let canonicalRequest: String
        let stringToSign: String
        let signature: String
        /// The headers to add to the request: `host`, `x-amz-date`, `x-amz-content-sha256` and
        /// `Authorization`.
        let headers: [(name: String, value: String)]
    }

    /// The headers that sign a request: `host`, `x-amz-date`, `x-amz-content-sha256`, `Authorization`.
    ///
    /// - Parameters:
    ///   - method: `GET`, `PUT`, …
    ///   - host: the Host header as sent (`host[:port]`).
    ///   - path: the request path exactly as sent, already URI-encoded with `uriEncode(_:encodeSlash: false)`;
    ///     S3 paths are not normalized further. Empty means `/`.
    ///   - query: the query parameters, not encoded; the request must send them as `canonicalQueryString`.
    ///   - headers: further headers to sign (e.g. `Range`, `Content-Type`, `x-amz-*`). A `host`,
    ///     `x-amz-date`, `x-amz-content-sha256` or `Authorization` among them is replaced.
    ///   - payloadHash: the hex SHA-256 of the body (`emptyPayloadHash` without one), or `UNSIGNED-PAYLOAD`.
    ///   - date: the signing time; S3 refuses a time more than 15 minutes off its clock.
    func headers(
        method: String, host: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], payloadHash: String, date: Date
    ) -> [(name: String, value: String)] {
        sign(method: method, host: host, path: path, query: query, headers: headers, payloadHash: payloadHash, date: date).headers
    }

    /// Like `headers(…)`, also giving the canonical request, the string to sign and the signature.
    func sign(
        method: String, host: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], payloadHash: String, date: Date
    ) -> Signed {
        let amzDate = Self.amzDate(date)
        let dateStamp = String(amzDate.prefix(8))

        // The headers the signer sets itself win over any the caller passed under the same name.
        let own: Set<String> = ["host", "x-amz-date", "x-amz-content-sha256", "authorization"]
        var all = headers.filter { !own.contains(Self.lowercasedASCII($0.name)) }
        all.append(("host", host))
        all.append(("x-amz-date", amzDate))
        all.append(("x-amz-content-sha256", payloadHash))

        // Canonical headers: lowercased names, trimmed values with inner runs of spaces made one,
        // values of a repeated name joined by commas in the order given, sorted by name.
        var values: [String: [String]] = [:]
        for (name, value) in all {
            values[Self.lowercasedASCII(name), default: []].append(Self.trimmedHeaderValue(value))
        }
        let names = values.keys.sorted(by: Self.byteOrder)
        let canonicalHeaders = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")

        let canonicalRequest = [
            method,
            path.isEmpty ? "/" : path,
            Self.canonicalQueryString(query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")

        let scope = "\(dateStamp)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256",
            amzDate,
            scope,
            Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        var key = SymmetricKey(data: Data(("AWS4" + secretAccessKey).utf8))
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))

        let authorization = "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope),SignedHeaders=\(signedHeaders),Signature=\(signature)"
        return Signed(
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign,
            signature: signature,
            headers: [
                ("host", host),
                ("x-amz-date", amzDate),
                ("x-amz-content-sha256", payloadHash),
                ("Authorization", authorization),
            ]
        )
    }

    // MARK: - Encoding

    /// S3's URI encoding: every byte of the UTF-8 form but `A-Z a-z 0-9 - _ . ~` as `%XX` (upper-case
    /// hex); `/` stays as it is unless `encodeSlash` (object key paths keep it, query parts do not).
    static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where !encodeSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The query as signed, and as it must be sent: names and values encoded (`/` too), pairs sorted
    /// by encoded name then value, `name=value` joined by `&` (a parameter without a value is `name=`).
    static func canonicalQueryString(_ query: [(name: String, value: String)]) -> String {
        query
            .map { (name: uriEncode($0.name, encodeSlash: true), value: uriEncode($0.value, encodeSlash: true)) }
            .sorted { $0.name == $1.name ? byteOrder($0.value, $1.value) : byteOrder($0.name, $1.name) }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }

    /// The hex SHA-256 of some bytes, for `x-amz-content-sha256`.
    static func payloadHash(_ bytes: UnsafeRawBufferPointer) -> String {
        hex(SHA256.hash(data: bytes))
    }

    // MARK: - Time

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, from the seconds since 1970 by calendar arithmetic
    /// (`Timestamp.civilDate`), so there is no formatter, time zone or shared state.
    static func amzDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = Timestamp.civilDate(daysSince1970: days)

        return padded(year, 4) + padded(month, 2) + padded(day, 2) + "T"
            + padded(secondOfDay / 3_600, 2) + padded(secondOfDay % 3_600 / 60, 2) + padded(secondOfDay % 60, 2) + "Z"
    }

    private static func padded(_ number: Int64, _ width: Int) -> String {
        let digits = String(number)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    // MARK: - Helpers

    private static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let hexDigits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Header names are ASCII; `lowercased()` of an odd non-ASCII name would still be consistent.
    private static func lowercasedASCII(_ text: String) -> String {
        String(decoding: text.utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Leading and trailing spaces and tabs removed, inner runs of spaces made one.
    private static func trimmedHeaderValue(_ value: String) -> String {
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let bytes = Array(value.utf8)
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else {
            return ""
        }
        var out: [UInt8] = []
        out.reserveCapacity(last - first + 1)
        var previousWasSpace = false
        for byte in bytes[first...last] {
            let isSpace = byte == UInt8(ascii: " ")
            if !(isSpace && previousWasSpace) { out.append(byte) }
            previousWasSpace = isSpace
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Byte order of the UTF-8 forms, as AWS sorts (Swift's `<` on String compares Unicode-wise).
    private static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

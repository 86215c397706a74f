import Foundation

/// Where `S3BlobStore` keeps media: a bucket of an S3-compatible service (AWS S3, MinIO, Ceph,
/// Garage, R2, …), addressed path-style (`<endpoint>/<bucket>/<key>`), so any endpoint works
/// without wildcard DNS.
///
/// The secret never appears in `description`, `debugDescription`, a mirror (`dump`) or an error.
public struct S3Configuration: Sendable, Equatable {
    /// The service's base URL, `http(s)://host[:port]` with no path: `http://127.0.0.1:9000`,
    /// `https://s3.eu-central-1.amazonaws.com`.
    public var endpoint: String
    /// The bucket; it must exist (`S3BlobStore.checkBucket()` says so at start).
    public var bucket: String
    /// The region the signatures are made for; `us-east-1` for most non-AWS services.
    public var region: String
    /// The access key ID.
    public var accessKeyID: String
    /// The secret access key.
    public var secretAccessKey: String
    /// Put before every object key (`<prefix><blob>/<chunk>`), so a bucket can be shared.
    public var keyPrefix: String

    public init(
        endpoint: String,
        bucket: String,
        region: String = "us-east-1",
        accessKeyID: String,
        secretAccessKey: String,
        keyPrefix: String = "media/"
    ) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.keyPrefix = keyPrefix
    }

    /// The S3 settings of an environment, or nil when `COURIER_S3_BUCKET` is unset or empty (media
    /// then stays in the data folder).
    ///
    /// Reads `COURIER_S3_ENDPOINT` (required), `COURIER_S3_BUCKET`, `COURIER_S3_REGION` (default
    /// `us-east-1`), `COURIER_S3_ACCESS_KEY_ID` and `COURIER_S3_SECRET_ACCESS_KEY` (falling back to
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`), and `COURIER_S3_KEY_PREFIX` (default
    /// `media/`, may be empty).
    ///
    /// - Throws: `S3ConfigurationError` when the bucket is set but a required setting is missing
    ///   or not usable.
    public static func fromEnvironment(_ env: [String: String]) throws(S3ConfigurationError) -> S3Configuration? {
        func value(_ name: String) -> String? {
            guard let value = env[name]?.trimmingSpaces, !value.isEmpty else { return nil }
            return value
        }
        guard let bucket = value("COURIER_S3_BUCKET") else { return nil }
        guard let endpoint = value("COURIER_S3_ENDPOINT") else {
            throw S3ConfigurationError(
                "COURIER_S3_BUCKET is set but COURIER_S3_ENDPOINT is not: set it to the service's URL, e.g. "
                    + "http://127.0.0.1:9000 or https://s3.\(value("COURIER_S3_REGION") ?? "us-east-1").amazonaws.com."
            )
        }
        guard let accessKeyID = value("COURIER_S3_ACCESS_KEY_ID") ?? value("AWS_ACCESS_KEY_ID") else {
            throw S3ConfigurationError("COURIER_S3_BUCKET is set but no access key is: set COURIER_S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID).")
        }
        // Not trimmed beyond what `value` does: a secret is taken as it is given.
        guard let secretAccessKey = value("COURIER_S3_SECRET_ACCESS_KEY") ?? value("AWS_SECRET_ACCESS_KEY") else {
            throw S3ConfigurationError(
                "COURIER_S3_BUCKET is set but no secret key is: set COURIER_S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY)."
            )
        }
        let configuration = S3Configuration(
            endpoint: endpoint,
            bucket: bucket,
            region: value("COURIER_S3_REGION") ?? "us-east-1",
            accessKeyID: accessKeyID,
            secretAccessKey: secretAccessKey,
            keyPrefix: env["COURIER_S3_KEY_PREFIX"] ?? "media/"
        )
        try configuration.validate()
        return configuration
    }

    /// Checks that the settings can work; `S3BlobStore.init` calls it too.
    public func validate() throws(S3ConfigurationError) {
        _ = try S3Endpoint(endpoint)
        guard !bucket.isEmpty, bucket.utf8.count <= 255,
              bucket.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") })
        else {
            throw S3ConfigurationError("The S3 bucket name \"\(bucket)\" is not usable: it must be a plain bucket name (no slash, no spaces).")
        }
        guard !region.isEmpty, region.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw S3ConfigurationError("The S3 region \"\(region)\" is not usable: it must be a region name such as us-east-1.")
        }
        guard !accessKeyID.isEmpty, accessKeyID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ",") }) else {
            throw S3ConfigurationError("The S3 access key ID is empty or has characters an access key cannot have.")
        }
        guard !secretAccessKey.isEmpty else {
            throw S3ConfigurationError("The S3 secret access key is empty.")
        }
        guard !keyPrefix.hasPrefix("/") else {
            throw S3ConfigurationError("The S3 key prefix \"\(keyPrefix)\" must not start with a slash (e.g. media/).")
        }
    }
}

extension S3Configuration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The settings without the secret.
    public var description: String {
        "S3 bucket \(bucket) at \(Self.shown(endpoint)) (region \(region), key prefix \"\(keyPrefix)\", access key \(accessKeyID))"
    }

    public var debugDescription: String { description }

    /// An endpoint for messages: one with credentials in it (which `validate()` refuses) shows
    /// only what follows them.
    static func shown(_ endpoint: String) -> String {
        guard let at = endpoint.lastIndex(of: "@") else { return endpoint }
        let scheme = endpoint.range(of: "://").map { String(endpoint[..<$0.upperBound]) } ?? ""
        return scheme + "…@" + endpoint[endpoint.index(after: at)...]
    }

    /// `dump` and other mirrors show every field but the secret.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "endpoint": Self.shown(endpoint), "bucket": bucket, "region": region, "accessKeyID": accessKeyID,
            "secretAccessKey": "<redacted>", "keyPrefix": keyPrefix,
        ], displayStyle: .struct)
    }
}

/// An S3 setting that cannot work, explained for the person who set it. Never holds the secret.
public struct S3ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An endpoint taken apart: its scheme and its authority (`host[:port]`), which is also the Host
/// header that is sent and signed.
struct S3Endpoint: Sendable, Equatable {
    /// `http` or `https`.
    let scheme: String
    /// `host[:port]` as given (an IPv6 host in brackets), without a port that is the scheme's default.
    let authority: String

    /// The base for request URLs: `scheme://authority`.
    var base: String { "\(scheme)://\(authority)" }

    init(_ endpoint: String) throws(S3ConfigurationError) {
        func invalid(_ why: String) -> S3ConfigurationError {
            S3ConfigurationError("The S3 endpoint \"\(S3Configuration.shown(endpoint))\" is not usable: \(why) Give the service's URL, e.g. http://127.0.0.1:9000 or https://s3.eu-central-1.amazonaws.com.")
        }
        let scheme: String
        var rest: Substring
        let lowered = endpoint.lowercased()
        if lowered.hasPrefix("https://") {
            scheme = "https"
            rest = endpoint.dropFirst("https://".count)
        } else if lowered.hasPrefix("http://") {
            scheme = "http"
            rest = endpoint.dropFirst("http://".count)
        } else {
            throw invalid("it must be an http:// or https:// URL.")
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty else { throw invalid("it names no host.") }
        if rest.contains("@") { throw invalid("credentials do not belong in the URL.") }
        if rest.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            throw invalid("it must have no path, query or fragment (the bucket is set on its own, path-style addressing is used).")
        }
        guard rest.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw invalid("it has spaces or characters a host name cannot have.") }

        // host, [v6]:port or host:port
        var host: Substring
        var port: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("its IPv6 address has no closing bracket.") }
            host = rest[...close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("it has text after the IPv6 address.") }
                port = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard host.count > (host.hasPrefix("[") ? 2 : 0), !host.contains(":") || host.hasPrefix("[") else {
            throw invalid("it names no host.")
        }
        host = Substring(host.lowercased())
        if let port {
            guard port.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let number = Int(port), (1...65535).contains(number) else {
                throw invalid("its port must be a number from 1 to 65535.")
            }
            let isDefault = (scheme == "http" && number == 80) || (scheme == "https" && number == 443)
            self.authority = isDefault ? String(host) : "\(host):\(number)"
        } else {
            self.authority = String(host)
        }
        self.scheme = scheme
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks (no Foundation needed).
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

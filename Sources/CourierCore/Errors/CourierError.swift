/// A failure that the caller caused or must know about, described independently of any transport.
///
/// Services throw `CourierError`; the HTTP layer maps ``Kind`` to a status code and the WebSocket
/// gateway to an error frame, so a rule's outcome is reported the same way on every path.
public struct CourierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in transport-independent terms.
    public enum Kind: Sendable, Equatable {
        /// The request could not be understood (malformed JSON, missing fields).
        case badRequest
        /// The caller is not signed in, or its credentials are not valid.
        case unauthorized
        /// The caller is signed in but not allowed to do this.
        case forbidden
        /// The thing does not exist, or the caller may not know that it does.
        case notFound
        /// The request conflicts with stored state (a taken username, say).
        case conflict
        /// The request body is larger than allowed.
        case payloadTooLarge
        /// The request was understood but a value is not acceptable.
        case unprocessable
        /// The caller sent too many requests; retry after the given number of seconds.
        case tooManyRequests(retryAfterSeconds: Int)
        /// A dependency (the database, say) is not available right now.
        case unavailable
        /// The server failed; the details are in its log, never in the response.
        case internalError
    }

    public var kind: Kind
    /// A stable snake_case identifier clients can branch on.
    public var code: String
    /// A human-readable explanation. Never contains secrets.
    public var message: String
    /// The request field the error is about, when there is one.
    public var field: String?

    public init(_ kind: Kind, code: String, message: String, field: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code): \(message)" }
}

extension CourierError {
    /// A field value that fails validation (422).
    public static func invalid(_ field: String, _ message: String) -> CourierError {
        CourierError(.unprocessable, code: "validation_failed", message: message, field: field)
    }

    /// A query parameter that makes no sense (400), naming it.
    public static func invalidParameter(_ name: String, _ message: String) -> CourierError {
        CourierError(.badRequest, code: "invalid_parameter", message: message, field: name)
    }

    /// A unique value that is already taken (409), naming the field.
    public static func taken(_ field: String) -> CourierError {
        CourierError(.conflict, code: "\(field)_taken", message: "This \(field) is already in use.", field: field)
    }

    /// A missing or unknown resource (404).
    public static func notFound(_ what: String) -> CourierError {
        CourierError(.notFound, code: "\(what)_not_found", message: "The \(what) does not exist.")
    }

    /// An unexpected failure of the server (500).
    public static let internalError = CourierError(
        .internalError, code: "internal_error", message: "Something went wrong on the server; the request id identifies it in the log."
    )

    /// Missing or invalid credentials (401).
    public static func unauthorized(_ message: String = "Authentication is required.", code: String = "unauthorized") -> CourierError {
        CourierError(.unauthorized, code: code, message: message)
    }
}

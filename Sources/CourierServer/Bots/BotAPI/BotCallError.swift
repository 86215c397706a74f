import CourierCore

/// A failed Bot API call, as Telegram reports it: `{"ok":false,"error_code":…,"description":…}`,
/// with `parameters.retry_after` on 429. Courier's own errors are mapped here, in one place, so
/// every method words a refusal the way bot libraries expect ("Bad Request: …", "Forbidden: …").
struct BotCallError: Error, Sendable, Equatable {
    let code: Int
    let description: String
    var retryAfter: Int?

    static func badRequest(_ reason: String) -> BotCallError { BotCallError(code: 400, description: "Bad Request: \(reason)") }
    static func forbidden(_ reason: String) -> BotCallError { BotCallError(code: 403, description: "Forbidden: \(reason)") }
    static func conflict(_ reason: String) -> BotCallError { BotCallError(code: 409, description: "Conflict: \(reason)") }
    static let unauthorized = BotCallError(code: 401, description: "Unauthorized")
    static let notFound = BotCallError(code: 404, description: "Not Found")
    static let tooLarge = BotCallError(code: 413, description: "Request Entity Too Large")
    static let chatNotFound = badRequest("chat not found")
    static let messageNotFound = badRequest("message to edit not found")
    static let internalError = BotCallError(code: 500, description: "Internal Server Error")

    static func tooManyRequests(retryAfter: Int) -> BotCallError {
        BotCallError(code: 429, description: "Too Many Requests: retry after \(retryAfter)", retryAfter: retryAfter)
    }

    /// Courier's error for the same outcome, worded for a bot.
    init(_ error: CourierError) {
        switch error.kind {
        case .badRequest, .unprocessable: self = .badRequest(Self.lowercasedFirst(error.message))
        case .unauthorized: self = .unauthorized
        case .forbidden: self = .forbidden(Self.lowercasedFirst(error.message))
        case .notFound: self = .badRequest(Self.lowercasedFirst(error.message))
        case .conflict: self = .badRequest(Self.lowercasedFirst(error.message))
        case .payloadTooLarge: self = .tooLarge
        case .tooManyRequests(let seconds): self = .tooManyRequests(retryAfter: max(1, seconds))
        case .unavailable: self = BotCallError(code: 502, description: "Bad Gateway")
        case .internalError: self = .internalError
        }
    }

    init(code: Int, description: String, retryAfter: Int? = nil) {
        self.code = code
        self.description = description
        self.retryAfter = retryAfter
    }

    private static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        let trimmed = text.hasSuffix(".") ? String(text.dropLast()) : text
        return first.lowercased() + trimmed.dropFirst()
    }
}

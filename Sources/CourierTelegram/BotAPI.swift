import Foundation

/// The part of Telegram's Bot API that Courier uses. `HTTPBotAPI` talks to Telegram (or to anything
/// speaking the same HTTP API); tests swap in a local fake server through the same implementation.
public protocol BotAPI: Sendable {
    func getMe() async throws -> BotUser
    /// Sends a text with one URL button; returns Telegram's message id.
    func sendMessage(chatID: Int64, text: String, buttonText: String, buttonURL: String) async throws -> Int64
    /// Long polling: updates after `offset`, waiting up to `timeout` seconds for one.
    func getUpdates(offset: Int64, timeout: Int) async throws -> [BotUpdate]
    func setWebhook(url: String, secretToken: String) async throws
    func deleteWebhook() async throws
}

/// The bot itself.
public struct BotUser: Decodable, Sendable {
    public let id: Int64
    public let username: String?
}

/// An update: for Courier, a private text message to the bot (`/start <token>`, `/stop`).
public struct BotUpdate: Decodable, Sendable {
    public struct Message: Decodable, Sendable {
        public struct Chat: Decodable, Sendable {
            public let id: Int64
        }

        public let chat: Chat
        public let text: String?
    }

    public let updateID: Int64
    public let message: Message?

    enum CodingKeys: String, CodingKey {
        case message
        case updateID = "update_id"
    }
}

/// Why a Bot API call failed.
public enum BotAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 429: wait this many seconds (`parameters.retry_after`) before calling again.
    case retryAfter(seconds: Int)
    /// Telegram answered `ok: false`; `code` is its `error_code`.
    case rejected(code: Int, description: String)
    /// A 5xx, a timeout or a connection failure: worth retrying later.
    case unavailable(String)

    public var description: String {
        switch self {
        case .retryAfter(let seconds): "rate limited by Telegram for \(seconds) s"
        case .rejected(let code, let description): "rejected (\(code)): \(description)"
        case .unavailable(let reason): "Telegram unavailable: \(reason)"
        }
    }

    /// Whether trying again later can succeed.
    public var isTransient: Bool {
        switch self {
        case .retryAfter, .unavailable: true
        case .rejected(let code, _): code >= 500
        }
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// The Bot API over HTTPS (`<api-url>/bot<token>/<method>`, JSON bodies).
///
/// The token is part of every URL, so URLs are never logged and errors never include them.
public struct HTTPBotAPI: BotAPI {
    private let baseURL: String
    private let http: HTTPClient
    private let timeout: TimeAmount

    public init(token: String, apiURL: String = "https://api.telegram.org", httpClient: HTTPClient = .shared, timeout: TimeAmount = .seconds(35)) {
        let base = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
        self.baseURL = "\(base)/bot\(token)"
        self.http = httpClient
        self.timeout = timeout
    }

    public func getMe() async throws -> BotUser {
        try await call("getMe", Empty())
    }

    public func sendMessage(chatID: Int64, text: String, buttonText: String, buttonURL: String) async throws -> Int64 {
        struct Button: Encodable { let text: String; let url: String }
        struct Keyboard: Encodable { let inline_keyboard: [[Button]] }
        struct Body: Encodable { let chat_id: Int64; let text: String; let reply_markup: Keyboard; let disable_web_page_preview = true }
        struct Sent: Decodable { let message_id: Int64 }
        let sent: Sent = try await call("sendMessage", Body(
            chat_id: chatID, text: text, reply_markup: Keyboard(inline_keyboard: [[Button(text: buttonText, url: buttonURL)]])
        ))
        return sent.message_id
    }

    public func getUpdates(offset: Int64, timeout: Int) async throws -> [BotUpdate] {
        struct Body: Encodable { let offset: Int64; let timeout: Int; let allowed_updates = ["message"] }
        return try await call("getUpdates", Body(offset: offset, timeout: timeout), timeout: .seconds(Int64(timeout) + 10))
    }

    public func setWebhook(url: String, secretToken: String) async throws {
        struct Body: Encodable { let url: String; let secret_token: String; let allowed_updates = ["message"] }
        let _: Bool = try await call("setWebhook", Body(url: url, secret_token: secretToken))
    }

    public func deleteWebhook() async throws {
        let _: Bool = try await call("deleteWebhook", Empty())
    }

    private struct Empty: Encodable {}

    private struct Envelope<Result: Decodable>: Decodable {
        struct Parameters: Decodable { let retry_after: Int? }
        let ok: Bool
        let result: Result?
        let error_code: Int?
        let description: String?
        let parameters: Parameters?
    }

    private func call<Result: Decodable>(_ method: String, _ body: some Encodable, timeout: TimeAmount? = nil) async throws -> Result {
        var request = HTTPClientRequest(url: "\(baseURL)/\(method)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(request, timeout: timeout ?? self.timeout)
            bytes = try await response.body.collect(upTo: 4 * 1024 * 1024)
        } catch {
            // The error of a failed request can quote the URL, which holds the token: keep only its type.
            throw BotAPIError.unavailable("\(type(of: error))")
        }
        let envelope = try? JSONDecoder().decode(Envelope<Result>.self, from: Data(buffer: bytes))
        if response.status.code == 429 || envelope?.error_code == 429 {
            throw BotAPIError.retryAfter(seconds: max(1, envelope?.parameters?.retry_after ?? 1))
        }
        if response.status.code >= 500 {
            throw BotAPIError.unavailable("HTTP \(response.status.code)")
        }
        guard let envelope else { throw BotAPIError.unavailable("unreadable answer (HTTP \(response.status.code))") }
        guard envelope.ok, let result = envelope.result else {
            throw BotAPIError.rejected(code: envelope.error_code ?? Int(response.status.code), description: envelope.description ?? "no description")
        }
        return result
    }
}

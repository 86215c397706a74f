import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A Swift client of Courier's REST API. The real-time side is `RealtimeConnection`.
public struct CourierClient: Sendable {
    /// Where the server is, e.g. `http://127.0.0.1:8080`.
    public let baseURL: String
    private let http: HTTPClient

    public init(baseURL: String, httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.http = httpClient
    }

    public func register(username: String, phone: String, password: String, email: String? = nil) async throws -> SignedIn {
        var body: [String: String] = ["username": username, "phone": phone, "password": password]
        body["email"] = email
        return try await call(.POST, "/api/v1/auth/register", body: body)
    }

    public func login(username: String, password: String) async throws -> SignedIn {
        try await call(.POST, "/api/v1/auth/login", body: ["username": username, "password": password])
    }

    /// Creates a group and returns its id.
    public func createGroup(named name: String, members: [String], token: String) async throws -> String {
        struct Body: Encodable { let type = "group"; let name: String; let member_ids: [String] }
        struct Created: Decodable { let id: String }
        let created: Created = try await call(.POST, "/api/v1/chats", body: Body(name: name, member_ids: members), token: token)
        return created.id
    }

    /// The DM with another user (created on first use); returns its id.
    public func directChat(with userID: String, token: String) async throws -> String {
        struct Found: Decodable { let id: String }
        let found: Found = try await call(.POST, "/api/v1/chats", body: ["type": "dm", "user_id": userID], token: token)
        return found.id
    }

    /// Looks a user up by username and returns their id.
    public func userID(username: String, token: String) async throws -> String {
        struct Found: Decodable { let id: String }
        let query = username.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? username
        let found: Found = try await call(.GET, "/api/v1/users?username=\(query)", token: token)
        return found.id
    }

    /// A user's public username, by id.
    public func username(of userID: String, token: String) async throws -> String {
        struct Profile: Decodable { let username: String }
        let profile: Profile = try await call(.GET, "/api/v1/users/\(userID)", token: token)
        return profile.username
    }

    /// One chat as the user sees it.
    public func chat(_ id: String, token: String) async throws -> ChatSummary {
        try await call(.GET, "/api/v1/chats/\(id)", token: token)
    }

    public func chats(token: String) async throws -> [ChatSummary] {
        struct List: Decodable { let chats: [ChatSummary] }
        let list: List = try await call(.GET, "/api/v1/chats?limit=100", token: token)
        return list.chats
    }

    public func send(_ content: String, to chatID: String, clientMessageID: String? = nil, token: String) async throws -> ChatMessage {
        var body = ["chat_id": chatID, "content": content, "message_type": "text"]
        body["client_msg_id"] = clientMessageID
        return try await call(.POST, "/api/v1/messages", body: body, token: token)
    }

    /// History; `query` is e.g. `limit=50` or `after_seq=10`.
    public func history(of chatID: String, query: String = "limit=50", token: String) async throws -> MessagePage {
        try await call(.GET, "/api/v1/chats/\(chatID)/messages?\(query)", token: token)
    }

    /// The WebSocket URL for an access token; `resume` announces that the first frame is a `resume`.
    public func webSocketURL(token: String, resume: Bool = false) -> String {
        let base = baseURL.replacingOccurrences(of: "https://", with: "wss://").replacingOccurrences(of: "http://", with: "ws://")
        return "\(base)/ws?token=\(token)" + (resume ? "&resume=1" : "")
    }

    /// Calls the API and decodes the answer; an error status becomes `CourierAPIError`.
    public func call<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, body: (some Encodable & Sendable)? = Optional<String>.none, token: String? = nil
    ) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body { request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body))) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = Data(buffer: try await response.body.collect(upTo: 16 * 1024 * 1024))
        guard (200..<300).contains(response.status.code) else {
            let failure = try? JSONDecoder().decode(ErrorBody.self, from: bytes)
            throw CourierAPIError(
                status: Int(response.status.code), code: failure?.error.code ?? "http_\(response.status.code)",
                message: failure?.error.message ?? response.status.reasonPhrase
            )
        }
        return try JSONDecoder().decode(Response.self, from: bytes)
    }
}

/// The API's error body.
private struct ErrorBody: Decodable {
    struct Detail: Decodable {
        let code: String
        let message: String
    }

    let error: Detail
}

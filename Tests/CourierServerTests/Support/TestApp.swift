import CourierServer
import CourierStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The JWT secret of test apps (tests sign their own tokens with it).
let testJWTSecret = "test-secret-that-is-long-enough-for-hs256-0123456789"

/// Runs `body` against a Courier router on a fresh database of `engine`.
///
/// bcrypt runs at cost 4 here so that registering many test users stays fast; one test checks
/// that the server's default is 12.
///
/// Media bytes go to `blobs`, or to a folder of their own that is removed afterwards.
func withTestApp<T: Sendable>(
    _ engine: TestEngine, rateLimits: RateLimitSettings = .off, allowedOrigins: Set<String> = [],
    media: MediaSettings = MediaSettings(), blobs: (any BlobStore)? = nil, bots: BotSettings = BotSettings(),
    _ body: @Sendable (APIClient, AppServices) async throws -> T
) async throws -> T {
    try await engine.withStore { store in
        let folder = try TemporaryFolder()
        let services = try await AppServices(
            store: store, jwtSecret: testJWTSecret, bcryptCost: 4, rateLimits: rateLimits, mediaSettings: media,
            blobs: try blobs ?? FolderBlobStore(folder: folder.path + "/media"), mediaWorkFolder: folder.path + "/work", botSettings: bots
        )
        defer { withExtendedLifetime(folder) {} }
        let app = Application(router: buildRouter(services: services, allowedOrigins: allowedOrigins), logger: TestEngine.logger)
        return try await app.test(.router) { client in
            try await body(APIClient(client: client), services)
        }
    }
}

/// A response with its body parsed as JSON.
struct APIResponse: @unchecked Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let json: [String: Any]

    subscript(key: String) -> Any? { json[key] }

    /// `error.code` of an error response.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }

    func object(_ key: String) throws -> [String: Any] { try #require(json[key] as? [String: Any]) }
    func string(_ key: String) throws -> String { try #require(json[key] as? String) }
}

/// Calls the REST API the way a client would.
struct APIClient: Sendable {
    let client: any TestClientProtocol

    func send(
        _ method: HTTPRequest.Method, _ path: String, json: [String: Any?]? = nil, body: String? = nil, token: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> APIResponse {
        var headers = extra
        headers[.contentType] = "application/json"
        if let token { headers[.authorization] = "Bearer \(token)" }
        var buffer: ByteBuffer?
        if let json {
            let object = json.mapValues { $0 ?? NSNull() }
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        let response = try await client.executeRequest(uri: path, method: method, headers: headers, body: buffer)
        let data = Data(buffer: response.body)
        let parsed = data.isEmpty ? [:] : (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return APIResponse(status: response.status, headers: response.headers, json: parsed)
    }

    /// Registers an account and returns the response, requiring success.
    @discardableResult
    func register(
        username: String, phone: String? = nil, email: String? = nil, password: String = "correct horse battery"
    ) async throws -> SignedInUser {
        let response = try await send(.post, "/api/v1/auth/register", json: [
            "username": username, "phone": phone ?? Self.phone(for: username), "email": email, "password": password,
        ])
        try #require(response.status == .created, "register \(username): \(response.status) \(response.json)")
        return try SignedInUser(response)
    }

    /// A valid, distinct phone number derived from a username.
    static func phone(for username: String) -> String {
        "+1555" + String(format: "%07d", abs(username.hashValue) % 10_000_000)
    }
}

/// The tokens and id of a signed-in test user.
struct SignedInUser: Sendable {
    let id: String
    let token: String
    let refreshToken: String
    let sessionID: String

    init(_ response: APIResponse) throws {
        id = try #require(try response.object("user")["id"] as? String)
        token = try response.string("token")
        refreshToken = try response.string("refresh_token")
        sessionID = try response.string("session_id")
    }
}

extension APIClient {
    /// Creates a group owned by `owner` and returns its id.
    func createGroup(_ owner: SignedInUser, name: String = "Team", members: [SignedInUser] = []) async throws -> String {
        let response = try await send(.post, "/api/v1/chats", json: ["type": "group", "name": name, "member_ids": members.map(\.id)], token: owner.token)
        try #require(response.status == .created, "create group: \(response.status) \(response.json)")
        return try response.string("id")
    }

    /// Creates a channel owned by `owner` and returns its id.
    func createChannel(_ owner: SignedInUser, name: String = "News", username: String? = nil) async throws -> String {
        let response = try await send(.post, "/api/v1/channels", json: ["name": name, "username": username], token: owner.token)
        try #require(response.status == .created, "create channel: \(response.status) \(response.json)")
        return try response.string("id")
    }

    /// Sends a text message and returns the response (not requiring success).
    func sendMessage(_ sender: SignedInUser, to chatID: String, _ content: String, extra: [String: Any?] = [:]) async throws -> APIResponse {
        try await send(.post, "/api/v1/messages", json: ["chat_id": chatID, "content": content, "message_type": "text"].merging(extra) { _, new in new }, token: sender.token)
    }

    /// Sends a text message, requiring success, and returns its id.
    @discardableResult
    func post(_ sender: SignedInUser, to chatID: String, _ content: String) async throws -> String {
        let response = try await sendMessage(sender, to: chatID, content)
        try #require(response.status == .created, "send: \(response.status) \(response.json)")
        return try response.string("id")
    }

    /// The messages of a history page.
    func history(_ user: SignedInUser, _ chatID: String, query: String = "") async throws -> APIResponse {
        try await send(.get, "/api/v1/chats/\(chatID)/messages\(query)", token: user.token)
    }
}

extension APIResponse {
    var messages: [[String: Any]] { (json["messages"] as? [[String: Any]]) ?? [] }
    var seqs: [Int] { messages.compactMap { $0["seq"] as? Int } }
}

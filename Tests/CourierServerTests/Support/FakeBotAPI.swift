import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore

/// A local stand-in for Telegram's Bot API (unreachable from here): the same HTTP methods and JSON,
/// recording every request, with failures to order.
actor FakeBotAPIState {
    struct Recorded: Sendable {
        let method: String
        let url: String
        let body: String
        var status = 0
    }

    private(set) var requests: [Recorded] = []
    private var updates: [String] = []
    private var nextUpdateID = 1
    private var confirmed = 0
    private var nextMessageID = 100
    /// Answers for the next `sendMessage` calls (status, JSON body), before normal answers resume.
    private var scriptedSendFailures: [(Int, String)] = []

    /// Answers a call and records it with its status, in one step.
    func handle(method: String, url: String, body: String) -> (Int, String) {
        let answer = plannedAnswer(method: method, body: body)
        requests.append(Recorded(method: method, url: url, body: body, status: answer.0))
        return answer
    }

    /// A `sendMessage` the bot made: its text and button URL.
    struct Notice: Sendable {
        let text: String
        let buttonURL: String?
        /// Whether the fake answered it with success.
        let delivered: Bool
    }

    func sent(to chatID: Int64) -> [Notice] {
        requests.filter { $0.method == "sendMessage" }.compactMap { request -> Notice? in
            guard let body = (try? JSONSerialization.jsonObject(with: Data(request.body.utf8))) as? [String: Any],
                  (body["chat_id"] as? NSNumber)?.int64Value == chatID
            else { return nil }
            let keyboard = (body["reply_markup"] as? [String: Any])?["inline_keyboard"] as? [[[String: Any]]]
            return Notice(text: body["text"] as? String ?? "", buttonURL: keyboard?.first?.first?["url"] as? String, delivered: request.status == 200)
        }
    }

    func sendCount() -> Int { requests.filter { $0.method == "sendMessage" }.count }

    /// Queues a private text message from a Telegram user to the bot.
    func userSends(_ text: String, fromChat chatID: Int64) {
        let update: [String: Any] = ["update_id": nextUpdateID, "message": ["message_id": nextUpdateID, "chat": ["id": chatID, "type": "private"], "text": text]]
        nextUpdateID += 1
        updates.append(String(decoding: try! JSONSerialization.data(withJSONObject: update), as: UTF8.self))
    }

    func failNextSends(_ answers: [(Int, String)]) { scriptedSendFailures.append(contentsOf: answers) }
    /// Lets every send through again.
    func stopFailingSends() { scriptedSendFailures.removeAll() }

    private func plannedAnswer(method: String, body: String) -> (Int, String) {
        switch method {
        case "getMe":
            return (200, #"{"ok":true,"result":{"id":42,"is_bot":true,"first_name":"Courier","username":"courier_test_bot"}}"#)
        case "sendMessage":
            if !scriptedSendFailures.isEmpty { return scriptedSendFailures.removeFirst() }
            nextMessageID += 1
            return (200, #"{"ok":true,"result":{"message_id":\#(nextMessageID),"date":0,"chat":{"id":1,"type":"private"}}}"#)
        case "getUpdates":
            // As Telegram does: asking from `offset` confirms (and forgets) every earlier update.
            let offset = ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any])?["offset"] as? Int ?? 0
            confirmed = max(confirmed, offset - 1)
            let pending = updates.enumerated().filter { $0.offset + 1 > confirmed }.map(\.element)
            return (200, #"{"ok":true,"result":[\#(pending.joined(separator: ","))]}"#)
        case "setWebhook", "deleteWebhook":
            return (200, #"{"ok":true,"result":true}"#)
        default:
            return (404, #"{"ok":false,"error_code":404,"description":"Not Found"}"#)
        }
    }
}

/// Runs the fake Bot API on a free port for the duration of `body`, passing its base URL.
func withFakeBotAPI<T: Sendable>(_ state: FakeBotAPIState, _ body: @Sendable (String) async throws -> T) async throws -> T {
    let router = Router()
    router.post(":bot/:method") { request, context -> Response in
        let method = context.parameters.get("method") ?? ""
        let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
        if method == "getUpdates" { try await Task.sleep(for: .milliseconds(50)) }
        let (status, json) = await state.handle(method: method, url: request.uri.description, body: text)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestEngine.logger)
    return try await app.test(.live) { client in
        try await body("http://127.0.0.1:\(client.port!)")
    }
}

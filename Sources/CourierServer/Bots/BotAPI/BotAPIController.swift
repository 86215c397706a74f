import CourierCore
import Foundation
import Hummingbird
import Logging

/// `/bot<token>/<method>`: the Telegram Bot API, so bots written for Telegram run against Courier
/// with only their base URL changed. Every answer is Telegram's envelope, errors included; the
/// token is checked on every call and never logged.
struct BotAPIController {
    let methods: BotAPIMethods
    let limiter: RateLimiter
    /// Bot API uploads handled at once on this node, once received.
    static let uploadSlots = ProcessingSlots(count: 4)
    /// Uploads being received per bot: one, so a bot that sends slowly holds up only itself.
    static let receiving = PerKeyLimit(limit: 1)
    /// The longest an upload may take to arrive (50 MB at under 0.5 MB/s is no bot's server).
    static let uploadDeadline: Duration = .seconds(120)

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("bot{token}/{method}", use: call)
        router.post("bot{token}/{method}", use: call)
        router.get("file/bot{token}/media/{id}/{variant}", use: file)
    }

    /// A file `getFile` named: only to a bot that may see it, checked again now.
    @Sendable func file(request: Request, context: AppRequestContext) async throws -> Response {
        do {
            let bot = try await authenticate(context)
            guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)),
                  let variant = context.parameters.get("variant"), MediaVariant.isValidName(variant)
            else { throw BotCallError.notFound }
            let download: MediaService.Download
            do {
                download = try await methods.media.download(id, variant: variant, for: bot.userID)
            } catch let error as CourierError where error.kind == .notFound || error.kind == .forbidden {
                throw BotCallError.notFound
            }
            return try await MediaResponder(media: methods.media).respond(download, to: request)
        } catch let error as BotCallError {
            return try Self.failure(error)
        }
    }

    @Sendable func call(request: Request, context: AppRequestContext) async throws -> Response {
        do {
            let bot = try await authenticate(context)
            let name = (context.parameters.get("method") ?? "").lowercased()
            guard let method = BotAPIMethods.table[name] else { throw BotCallError.notFound }
            let result: any Encodable & Sendable
            if request.headers[.contentType]?.lowercased().hasPrefix("multipart/form-data") == true {
                // Received first, one per bot and within a deadline; then stored a few at a time
                // per node (an upload is held in memory until it is stored: up to 50 MB).
                guard await Self.receiving.enter(bot.userID) else { throw BotCallError.tooManyRequests(retryAfter: 1) }
                let arguments: BotAPIArguments
                do {
                    arguments = try await withDeadline(Self.uploadDeadline) { try await BotAPIArguments.read(from: request) }
                } catch is DeadlineExceeded {
                    await Self.receiving.leave(bot.userID)
                    throw BotCallError(code: 408, description: "Request Timeout")
                } catch {
                    await Self.receiving.leave(bot.userID)
                    throw error
                }
                await Self.receiving.leave(bot.userID)
                result = try await Self.uploadSlots.run { try await method(methods, bot, arguments) }
            } else {
                result = try await method(methods, bot, try await BotAPIArguments.read(from: request))
            }
            return try Self.response(status: .ok, body: Success(result: AnyEncodable(result)))
        } catch let error as BotCallError {
            return try Self.failure(error)
        } catch let error as CourierError {
            return try Self.failure(BotCallError(error))
        } catch {
            context.logger.error("bot API call failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return try Self.failure(.internalError)
        }
    }

    /// The bot whose token the path carries. A refused token counts against the caller's address,
    /// as a refused sign-in token does on the REST API: guessing is slow, and ends in 429.
    /// Every call, a file download too, takes one from the bot's budget (429 with `retry_after` past it).
    private func authenticate(_ context: AppRequestContext) async throws -> BotService.Identity {
        let bot: BotService.Identity
        do {
            // python-telegram-bot's downloads percent-encode the token's colon; Telegram takes both.
            let raw = context.parameters.get("token") ?? ""
            bot = try await methods.bots.authenticate(Substring(raw.removingPercentEncoding ?? raw))
        } catch let error as BotCallError where error.code == 401 {
            do {
                try await limiter.countRefusal(from: context.clientAddress)
            } catch {
                throw BotCallError(error)
            }
            throw error
        }
        do {
            try await limiter.take("bot:\(bot.userID)", limiter.settings.bot)
        } catch {
            throw BotCallError(error)
        }
        return bot
    }

    private struct Success: Encodable {
        let ok = true
        let result: AnyEncodable
    }

    private struct Failure: Encodable {
        struct Parameters: Encodable { let retry_after: Int }
        let ok = false
        let error_code: Int
        let description: String
        let parameters: Parameters?
    }

    private struct AnyEncodable: Encodable {
        let value: any Encodable
        init(_ value: any Encodable) { self.value = value }
        func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    }

    static func failure(_ error: BotCallError) throws -> Response {
        try response(
            status: HTTPResponse.Status(code: error.code),
            body: Failure(error_code: error.code, description: error.description, parameters: error.retryAfter.map(Failure.Parameters.init))
        )
    }

    private static func response(status: HTTPResponse.Status, body: some Encodable) throws -> Response {
        let data = try JSONEncoder().encode(body)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

import AsyncHTTPClient
import CourierStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Posts each bot's updates to its webhook, one at a time and in order, as Telegram does: an
/// update is confirmed (and forgotten) only after the bot's server answered 2xx; a failure is
/// noted for `getWebhookInfo` and retried later, waiting longer after each failure (up to a minute).
/// Each bot's deliveries run in a task of their own, a few bots at a time, each exchange within a
/// deadline: a slow or silent bot server holds up only its own bot. Runs on one node of a
/// deployment; woken when something is stored or a button is pressed.
struct BotWebhookDelivery: Service {
    let bots: BotService
    let methods: BotAPIMethods
    let logger: Logger
    /// One request to a bot's server, from connecting to its status, must end within this.
    static let exchangeDeadline: Duration = .seconds(10)
    /// Bots whose webhooks are posted to at once, each sending at most `updatesPerTurn` before
    /// another's turn: slow bot servers hold up only their own bots.
    static let parallelBots = 64
    static let updatesPerTurn = 10
    /// Its own client: redirects are not followed (a bot's server could otherwise send the request
    /// on to an address the check refused), and it lives as long as the process.
    static let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)),
            // Bots that share a host (one owner's, or a hosting service's) do not queue behind each other.
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: parallelBots)
        )
    )

    /// Which bots are being delivered to, and when those that failed may be tried again.
    actor Schedule {
        private var running: Set<UUID> = []
        private var retryAt: [UUID: (at: ContinuousClock.Instant, failures: Int)] = [:]

        /// Whether to start on `botID` now (not running, not waiting for a retry, a slot free).
        func start(_ botID: UUID) -> Bool {
            guard !running.contains(botID), running.count < BotWebhookDelivery.parallelBots,
                  retryAt[botID].map({ ContinuousClock.now >= $0.at }) ?? true
            else { return false }
            running.insert(botID)
            return true
        }

        func finish(_ botID: UUID, delivered: Bool) {
            running.remove(botID)
            if delivered {
                retryAt[botID] = nil
            } else {
                let failures = (retryAt[botID]?.failures ?? 0) + 1
                retryAt[botID] = (ContinuousClock.now + .seconds(min(60, 1 << min(failures, 6))), failures)
            }
        }
    }

    func run() async throws {
        let schedule = Schedule()
        let wakeup = methods.polling.webhookWakeup
        await withTaskGroup(of: Void.self) { group in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    let withWebhooks = try await bots.bots.botsWithWebhooks()
                    methods.polling.webhooksFound(!withWebhooks.isEmpty)
                    for botID in withWebhooks where await schedule.start(botID) {
                        group.addTask {
                            var delivered = false
                            do {
                                delivered = try await deliver(to: botID)
                            } catch {
                                logger.warning("bot webhook delivery failed", metadata: ["error": "\(error)"])
                            }
                            await schedule.finish(botID, delivered: delivered)
                            // A bot with more to send, or one that failed and waits, is looked at again.
                            wakeup.signal()
                        }
                    }
                } catch {
                    logger.warning("bot webhook delivery failed", metadata: ["error": "\(error)"])
                }
                await cancelWhenGracefulShutdown { await wakeup.wait(upTo: .seconds(1)) }
            }
            group.cancelAll()
        }
    }

    /// Sends the bot's pending updates; false when its server failed (the rest wait for the retry).
    private func deliver(to botID: UUID) async throws -> Bool {
        guard let credentials = try await bots.bots.credentials(of: botID), let webhook = try await bots.bots.webhook(of: botID) else { return true }
        let bot = BotService.Identity(userID: botID, number: try await bots.bots.number(for: botID), username: credentials.username)
        try await bots.bots.collect(for: botID)
        let kinds = BotAPIMethods.kinds(try await bots.bots.allowedUpdates(of: botID))
        let stored = try await bots.bots.updates(of: botID, from: nil, limit: Self.updatesPerTurn, kinds: kinds)
        guard !stored.isEmpty else { return true }
        let target: BotService.WebhookTarget
        do {
            target = try await bots.webhookTarget(webhook.url)
        } catch let error as BotCallError {
            try await bots.bots.recordWebhookError(error.description, of: botID, at: .now())
            return false
        }
        let rendered = Dictionary(try await methods.render(stored, for: bot).map { ($0.update_id, $0) }) { first, _ in first }
        for update in stored {
            // The webhook may have been removed or replaced (a new token removes it) since the
            // turn began: nothing more goes to the old address.
            guard try await bots.bots.webhook(of: botID)?.url == webhook.url else { return true }
            if let object = rendered[update.updateID] {
                if let failure = await post(object, to: target, secret: webhook.secret) {
                    try await bots.bots.recordWebhookError(failure, of: botID, at: .now())
                    return false
                }
            }
            // Delivered, or nothing left to show (a message deleted since): confirmed either way.
            try await bots.bots.confirm(below: update.updateID + 1, of: botID)
        }
        try await bots.bots.recordWebhookError(nil, of: botID, at: .now())
        return true
    }

    /// Posts one update; the failure as `getWebhookInfo` words it, or nil. Only the status is
    /// waited for: the body of the answer is not read.
    private func post(_ update: TelegramObjects.Update, to target: BotService.WebhookTarget, secret: String?) async -> String? {
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        if let host = target.host { request.headers.replaceOrAdd(name: "Host", value: host) }
        // Exactly this: python-telegram-bot's listener refuses `application/json; charset=utf-8`.
        request.headers.add(name: "Content-Type", value: "application/json")
        if let secret { request.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: secret) }
        do {
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(update)))
            let prepared = request
            let status = try await withDeadline(Self.exchangeDeadline) { try await Self.http.execute(prepared, timeout: .seconds(10)).status.code }
            return (200..<300).contains(status) ? nil : "Wrong response from the webhook: \(status)"
        } catch is DeadlineExceeded {
            return "Timeout expired"
        } catch {
            return "Connection failed"
        }
    }
}

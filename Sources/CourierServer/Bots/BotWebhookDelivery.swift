import AsyncHTTPClient
import CourierStore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Posts each bot's updates to its webhook, one at a time and in order, as Telegram does: an
/// update is confirmed (and forgotten) only after the bot's server answered 2xx; a failure is
/// noted for `getWebhookInfo` and retried later, waiting longer after each failure (up to a minute).
/// Runs on one node of a deployment; woken when something is stored or a button is pressed.
struct BotWebhookDelivery: Service {
    let bots: BotService
    let methods: BotAPIMethods
    let logger: Logger
    static let timeout: TimeAmount = .seconds(10)
    /// Bots whose webhooks are posted to at once; one slow bot server holds up only its own updates.
    static let parallelBots = 16
    /// Its own client: redirects are not followed (a bot's server could otherwise send the request
    /// on to an address the check refused), and it lives as long as the process.
    static let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: timeout))
    )

    func run() async throws {
        var retryAt: [UUID: (at: ContinuousClock.Instant, failures: Int)] = [:]
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let due = try await bots.bots.botsWithWebhooks().filter { botID in
                    retryAt[botID].map { ContinuousClock.now >= $0.at } ?? true
                }
                for batch in stride(from: 0, to: due.count, by: Self.parallelBots).map({ Array(due[$0..<min($0 + Self.parallelBots, due.count)]) }) {
                    let outcomes = await withTaskGroup(of: (UUID, Bool).self) { group in
                        for botID in batch {
                            group.addTask {
                                do {
                                    return (botID, try await deliver(to: botID))
                                } catch {
                                    logger.warning("bot webhook delivery failed", metadata: ["error": "\(error)"])
                                    return (botID, false)
                                }
                            }
                        }
                        return await group.reduce(into: [(UUID, Bool)]()) { $0.append($1) }
                    }
                    for (botID, delivered) in outcomes {
                        if delivered {
                            retryAt[botID] = nil
                        } else {
                            let failures = (retryAt[botID]?.failures ?? 0) + 1
                            retryAt[botID] = (ContinuousClock.now + .seconds(min(60, 1 << min(failures, 6))), failures)
                        }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("bot webhook delivery failed", metadata: ["error": "\(error)"])
            }
            await cancelWhenGracefulShutdown { await methods.polling.webhookWakeup.wait(upTo: .seconds(1)) }
        }
    }

    /// Sends the bot's pending updates; false when its server failed (the rest wait for the retry).
    private func deliver(to botID: UUID) async throws -> Bool {
        guard let credentials = try await bots.bots.credentials(of: botID), let webhook = try await bots.bots.webhook(of: botID) else { return true }
        let bot = BotService.Identity(userID: botID, number: try await bots.bots.number(for: botID), username: credentials.username)
        try await bots.bots.collect(for: botID)
        let kinds = BotAPIMethods.kinds(try await bots.bots.allowedUpdates(of: botID))
        let stored = try await bots.bots.updates(of: botID, from: nil, limit: 100, kinds: kinds)
        guard !stored.isEmpty else { return true }
        let target: BotService.WebhookTarget
        do {
            target = try await bots.webhookTarget(webhook.url)
        } catch let error as BotCallError {
            try await bots.bots.recordWebhookError(error.description, of: botID, at: .now())
            return false
        }
        let rendered = try await methods.render(stored, for: bot)
        var renderedIDs = Set(rendered.map(\.update_id))
        for update in stored {
            if renderedIDs.contains(update.updateID), let object = rendered.first(where: { $0.update_id == update.updateID }) {
                var request = HTTPClientRequest(url: target.url)
                request.method = .POST
                if let host = target.host { request.headers.replaceOrAdd(name: "Host", value: host) }
                request.headers.add(name: "Content-Type", value: "application/json")
                if let secret = webhook.secret { request.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: secret) }
                request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(object)))
                let failure: String?
                do {
                    let response = try await Self.http.execute(request, timeout: Self.timeout)
                    _ = try? await response.body.collect(upTo: 64 * 1024)
                    failure = (200..<300).contains(response.status.code) ? nil : "Wrong response from the webhook: \(response.status.code) \(response.status.reasonPhrase)"
                } catch {
                    failure = "Connection failed"
                }
                if let failure {
                    try await bots.bots.recordWebhookError(failure, of: botID, at: .now())
                    return false
                }
                renderedIDs.remove(update.updateID)
            }
            // Delivered, or nothing left to show (a message deleted since): confirmed either way.
            try await bots.bots.confirm(below: update.updateID + 1, of: botID)
        }
        try await bots.bots.recordWebhookError(nil, of: botID, at: .now())
        return true
    }
}

import CourierCore
import CourierStore
import CourierTelegram
import Foundation
import Logging
import ServiceLifecycle

/// Sends the queued references through the bot, within Telegram's limits: one message per chat per
/// second (several waiting references for one chat are coalesced: "3 new messages") and about 30 per
/// second overall. A 429 pauses everything for its `retry_after`; other transient failures back off
/// per job; after eight attempts a job fails with its error recorded.
struct TelegramRelayService: Service {
    let telegram: TelegramService
    let relay: TelegramRelay
    let bot: any BotAPI
    let settings: TelegramSettings
    let logger: Logger
    var metrics: ServerMetrics?

    static let maxAttempts = 8

    func run() async throws {
        let store = telegram.store
        let interrupted = try await store.failInterrupted(at: .now())
        if interrupted > 0 { logger.warning("relay jobs interrupted by a restart were marked failed", metadata: ["jobs": "\(interrupted)"]) }
        var lastSent: [Int64: ContinuousClock.Instant] = [:]
        var pausedUntil = ContinuousClock.now
        let clock = ContinuousClock()
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            if clock.now >= pausedUntil {
                do {
                    pausedUntil = try await sendDue(lastSent: &lastSent, clock: clock)
                } catch {
                    logger.warning("relay round failed", metadata: ["error": "\(error)"])
                }
            }
            // A stored message wakes the relay at once; retries that come due are found by the poll.
            await cancelWhenGracefulShutdown { await relay.wakeup.wait(upTo: settings.pollInterval) }
        }
    }

    /// One round: returns until when the whole relay must pause (now, unless Telegram said 429).
    private func sendDue(lastSent: inout [Int64: ContinuousClock.Instant], clock: ContinuousClock) async throws -> ContinuousClock.Instant {
        let store = telegram.store
        let jobs = try await store.dueJobs(at: .now(), limit: 500)
        guard !jobs.isEmpty else { return clock.now }
        let byChat = Dictionary(grouping: jobs, by: \.telegramChatID)
        var budget = settings.messagesPerSecond
        for (chatID, chatJobs) in byChat.sorted(by: { ($0.value.first?.timestamp ?? .now()) < ($1.value.first?.timestamp ?? .now()) }) {
            guard budget > 0 else { break }
            if let last = lastSent[chatID], clock.now - last < settings.perChatInterval { continue }
            var toSend: [TelegramStore.Job] = []
            var dropped: [String] = []
            for job in chatJobs {
                if await relay.shouldSend(job) { toSend.append(job) } else { dropped.append(job.reference) }
            }
            try await store.drop(dropped)
            let claimed = Set(try await store.claim(toSend.map(\.reference), at: .now()))
            let group = toSend.filter { claimed.contains($0.reference) }
            guard let newest = group.max(by: { $0.timestamp < $1.timestamp }) else { continue }
            budget -= 1
            lastSent[chatID] = clock.now
            let references = group.map(\.reference)
            do {
                let messageID = try await bot.sendMessage(
                    chatID: chatID, text: TelegramRelay.notificationText(for: group), buttonText: "Open in Courier",
                    buttonURL: telegram.referenceURL(newest.reference)
                )
                try await store.markSent(references, telegramID: "\(chatID):\(messageID)", at: .now())
            } catch let error as BotAPIError {
                metrics?.botAPIErrors.increment()
                switch error {
                case .retryAfter(let seconds):
                    try await store.retry(references, at: Timestamp.now().adding(seconds: Int64(seconds)), error: error.description, now: .now())
                    return clock.now + .seconds(seconds)
                case _ where error.isTransient && (group.map(\.attempts).max() ?? 0) + 1 < Self.maxAttempts:
                    let attempts = (group.map(\.attempts).max() ?? 0) + 1
                    let delay = min(300, 1 << min(attempts, 8))
                    try await store.retry(references, at: Timestamp.now().adding(seconds: Int64(delay)), error: error.description, now: .now())
                default:
                    try await store.markFailed(references, error: error.description, at: .now())
                }
            }
        }
        return clock.now
    }
}

/// Long-polls `getUpdates` for `/start` and `/stop` when no webhook is configured.
struct TelegramUpdatePoller: Service {
    let telegram: TelegramService
    let bot: any BotAPI
    let logger: Logger
    let timeout: Int

    func run() async throws {
        try? await bot.deleteWebhook()
        var offset: Int64 = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let from = offset
                let updates = try await cancelWhenGracefulShutdown { try await bot.getUpdates(offset: from, timeout: timeout) }
                for update in updates {
                    await telegram.handle(update)
                    offset = max(offset, update.updateID + 1)
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("telegram getUpdates failed", metadata: ["error": "\(error)"])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
            }
        }
    }
}

/// With a webhook secret configured: tells Telegram where to deliver updates, once at start.
struct TelegramWebhookRegistration: Service {
    let bot: any BotAPI
    let url: String
    let secret: String
    let logger: Logger

    func run() async throws {
        do {
            try await bot.setWebhook(url: url, secretToken: secret)
            logger.info("telegram webhook registered")
        } catch {
            logger.error("telegram webhook not registered; updates will not arrive", metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
    }
}

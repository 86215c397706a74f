import NIOCore

/// How many control frames (pings, pongs) a client may send: a token bucket of `burst` frames,
/// refilled at `perSecond`.
///
/// Control frames pass the message rate limit and cost the server a read, a decode and, for a
/// ping, a write each, so a client could otherwise keep a core busy with them. A client over the
/// budget is not read for as long as it takes the bucket to refill (TCP then holds it back), up to
/// `longestPause`; the frames it sent meanwhile deepen the debt down to that limit. Clients ping
/// every few seconds at most (browsers never), and answer the server's ping every 30 s.
struct ControlFrameBudget {
    static let burst = 32.0
    static let perSecond = 8.0
    static let longestPause = TimeAmount.seconds(10)

    private var tokens = burst
    /// When `tokens` was last brought up to date; nil before the first frame.
    private var refilledAt: NIODeadline?

    /// Spends a token for one frame; true when the frame is within the budget.
    mutating func spend(now: NIODeadline) -> Bool {
        refill(now: now)
        let floor = 1 - Self.perSecond * Double(Self.longestPause.nanoseconds) / 1e9
        tokens = max(tokens - 1, floor)
        return tokens >= 0
    }

    /// How long until the bucket holds a token again; zero when it does now.
    mutating func pause(now: NIODeadline) -> TimeAmount {
        refill(now: now)
        guard tokens < 1 else { return .zero }
        return .nanoseconds(Int64(((1 - tokens) / Self.perSecond * 1e9).rounded(.up)))
    }

    private mutating func refill(now: NIODeadline) {
        guard let refilledAt else { return self.refilledAt = now }
        let elapsed = Double((now - refilledAt).nanoseconds) / 1e9
        guard elapsed > 0 else { return }
        tokens = min(Self.burst, tokens + elapsed * Self.perSecond)
        self.refilledAt = now
    }
}

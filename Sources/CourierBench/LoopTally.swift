import Histogram
import NIOCore

/// What the sockets of one event loop received, kept on that loop without locks: the generator
/// runs one tally per loop and merges them when a run ends.
///
/// Bench messages carry their intended send time (monotonic nanoseconds) in the content, `t=<ns>`
/// while measuring and `w=<ns>` during warm-up, and in `client_msg_id` (`b<ns>-<n>`), so latency
/// is read straight off the frame. Measuring from the *intended* time, not the moment the frame
/// went out, keeps a stalled generator from hiding server delays (coordinated omission).
///
/// The content also names its sender (`;s=<user index>`), and each socket knows its own user, so a
/// delivery counts once per message and recipient: a copy to the sender or a second copy to the
/// same device is counted apart (`duplicates`), and cannot hide a copy that never came.
final class LoopTally: @unchecked Sendable {
    var deliveries = LoopTally.histogram()
    /// Deliveries by the second of the run their message was meant to go in (from `measureFrom`):
    /// a run whose p99 is fine overall may still have stalled for a second or two.
    var deliveriesBySecond: [Int: Histogram<UInt64>] = [:]
    var acks = LoopTally.histogram()
    /// Distinct (message, recipient) pairs received, the sender excluded.
    var delivered = 0
    /// Copies beyond the first to a recipient, and copies to the message's own sender.
    var duplicates = 0
    /// Every measured delivery received.
    var received = Set<BenchDelivery>()
    var acked = 0
    var failedAcks = 0
    var closedByServer = 0
    /// Messages intended before this (a previous ramp step's stragglers) are not counted.
    var measureFrom: UInt64 = 0

    /// Microseconds up to an hour, 3 significant digits.
    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// For one second's deliveries: two significant digits are enough, and there are many seconds.
    static func secondHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
    }

    func reset() {
        deliveries = Self.histogram()
        deliveriesBySecond = [:]
        acks = Self.histogram()
        delivered = 0
        duplicates = 0
        received = []
        acked = 0
        failedAcks = 0
        closedByServer = 0
    }

    /// Counts a frame if it is the ack or the delivery of a measured message; anything else
    /// (presence, membership, warm-up traffic, a previous step's stragglers) is ignored.
    func received(_ frame: ByteBuffer, by recipient: Int) {
        let now = MonotonicClock.nanoseconds()
        frame.withUnsafeReadableBytes { bytes in
            if ByteScan.contains(Self.ackType, in: bytes) {
                guard let sent = ByteScan.number(after: Self.clientMessageIDPrefix, in: bytes), sent >= measureFrom else { return }
                if ByteScan.contains(Self.errorKey, in: bytes) {
                    failedAcks += 1
                } else {
                    acked += 1
                    acks.record(now > sent ? (now - sent) / 1000 : 0)
                }
            } else if ByteScan.contains(Self.newMessageType, in: bytes),
                      let sent = ByteScan.number(after: Self.measuredContent, in: bytes), sent >= measureFrom,
                      let sender = ByteScan.number(after: Self.senderMark, in: bytes) {
                let delivery = BenchDelivery(message: BenchMessage(sender: Int(sender), intended: sent), recipient: recipient)
                guard delivery.recipient != delivery.message.sender, received.insert(delivery).inserted else {
                    duplicates += 1
                    return
                }
                delivered += 1
                let latency = now > sent ? (now - sent) / 1000 : 0
                deliveries.record(latency)
                deliveriesBySecond[Int((sent - measureFrom) / 1_000_000_000), default: Self.secondHistogram()].record(latency)
            }
        }
    }

    static let ackType = Array(#""type":"ack""#.utf8)
    static let newMessageType = Array(#""type":"new_message""#.utf8)
    static let measuredContent = Array(#""content":"t="#.utf8)
    static let senderMark = Array(";s=".utf8)
    /// Measured messages' client ids start with `b`, warm-up ones with `w`.
    static let clientMessageIDPrefix = Array(#""client_msg_id":"b"#.utf8)
    static let errorKey = Array(#""error":"#.utf8)
}

/// A copy of a tally, safe to carry off its loop.
struct TallySnapshot: Sendable {
    var deliveries: Histogram<UInt64>
    var deliveriesBySecond: [Int: Histogram<UInt64>]
    var acks: Histogram<UInt64>
    var delivered: Int
    var duplicates: Int
    var received: Set<BenchDelivery>
    var acked: Int
    var failedAcks: Int
    var closedByServer: Int

    init(_ tally: LoopTally) {
        deliveries = tally.deliveries
        deliveriesBySecond = tally.deliveriesBySecond
        acks = tally.acks
        delivered = tally.delivered
        duplicates = tally.duplicates
        received = tally.received
        acked = tally.acked
        failedAcks = tally.failedAcks
        closedByServer = tally.closedByServer
    }

    mutating func merge(_ other: TallySnapshot) {
        deliveries.add(other.deliveries)
        for (second, histogram) in other.deliveriesBySecond {
            deliveriesBySecond[second, default: LoopTally.secondHistogram()].add(histogram)
        }
        acks.add(other.acks)
        delivered += other.delivered
        duplicates += other.duplicates
        received.formUnion(other.received)
        acked += other.acked
        failedAcks += other.failedAcks
        closedByServer += other.closedByServer
    }
}

/// A measured message: who sent it, and when it was meant to go.
struct BenchMessage: Hashable, Sendable {
    var sender: Int
    var intended: UInt64
}

/// A measured message as one recipient (a user index) received it.
struct BenchDelivery: Hashable, Sendable {
    var message: BenchMessage
    var recipient: Int
}

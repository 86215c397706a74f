import Histogram
import NIOCore

/// What the sockets of one event loop received, kept on that loop without locks: the generator
/// runs one tally per loop and merges them when a run ends.
///
/// Bench messages carry their intended send time (monotonic nanoseconds) in the content, `t=<ns>`
/// while measuring and `w=<ns>` during warm-up, and in `client_msg_id` (`b<ns>-<n>`), so latency
/// is read straight off the frame. Measuring from the *intended* time, not the moment the frame
/// went out, keeps a stalled generator from hiding server delays (coordinated omission).
final class LoopTally: @unchecked Sendable {
    var deliveries = LoopTally.histogram()
    var acks = LoopTally.histogram()
    var delivered = 0
    var acked = 0
    var failedAcks = 0
    var closedByServer = 0
    /// Messages intended before this (a previous ramp step's stragglers) are not counted.
    var measureFrom: UInt64 = 0

    /// Microseconds up to an hour, 3 significant digits.
    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    func reset() {
        deliveries = Self.histogram()
        acks = Self.histogram()
        delivered = 0
        acked = 0
        failedAcks = 0
        closedByServer = 0
    }

    /// Counts a frame if it is the ack or the delivery of a measured message; anything else
    /// (presence, membership, warm-up traffic, a previous step's stragglers) is ignored.
    func received(_ frame: ByteBuffer) {
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
                      let sent = ByteScan.number(after: Self.measuredContent, in: bytes), sent >= measureFrom {
                delivered += 1
                deliveries.record(now > sent ? (now - sent) / 1000 : 0)
            }
        }
    }

    static let ackType = Array(#""type":"ack""#.utf8)
    static let newMessageType = Array(#""type":"new_message""#.utf8)
    static let measuredContent = Array(#""content":"t="#.utf8)
    /// Measured messages' client ids start with `b`, warm-up ones with `w`.
    static let clientMessageIDPrefix = Array(#""client_msg_id":"b"#.utf8)
    static let errorKey = Array(#""error":"#.utf8)
}

/// A copy of a tally, safe to carry off its loop.
struct TallySnapshot: Sendable {
    var deliveries: Histogram<UInt64>
    var acks: Histogram<UInt64>
    var delivered: Int
    var acked: Int
    var failedAcks: Int
    var closedByServer: Int

    init(_ tally: LoopTally) {
        deliveries = tally.deliveries
        acks = tally.acks
        delivered = tally.delivered
        acked = tally.acked
        failedAcks = tally.failedAcks
        closedByServer = tally.closedByServer
    }

    mutating func merge(_ other: TallySnapshot) {
        deliveries.add(other.deliveries)
        acks.add(other.acks)
        delivered += other.delivered
        acked += other.acked
        failedAcks += other.failedAcks
        closedByServer += other.closedByServer
    }
}

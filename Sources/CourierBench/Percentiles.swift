import Histogram

/// Latency percentiles in milliseconds.
public struct Percentiles: Sendable, Codable {
    public let count: UInt64
    public let p50: Double
    public let p95: Double
    public let p99: Double
    public let max: Double

    /// Percentiles of latencies given one by one, in microseconds.
    init(microsecondSamples samples: [UInt64]) {
        var histogram = LoopTally.histogram()
        for sample in samples { histogram.record(sample) }
        self.init(microseconds: histogram)
    }

    init(microseconds histogram: Histogram<UInt64>) {
        count = histogram.totalCount
        func ms(_ value: UInt64) -> Double { Double(value) / 1000 }
        p50 = count == 0 ? 0 : ms(histogram.valueAtPercentile(50))
        p95 = count == 0 ? 0 : ms(histogram.valueAtPercentile(95))
        p99 = count == 0 ? 0 : ms(histogram.valueAtPercentile(99))
        max = count == 0 ? 0 : ms(histogram.max)
    }
}

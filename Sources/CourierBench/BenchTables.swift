import Foundation

extension Double {
    /// Two decimals, for milliseconds.
    var ms: String { String(format: "%.2f", self) }
    /// No decimals, for rates.
    var whole: String { String(format: "%.0f", self) }
}

extension W1Benchmark.Result {
    public var table: TextTable {
        TextTable(
            header: ["rate/s", "sent", "delivered", "ratio %", "deliveries/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "ack p50", "ack p99", "server µs/msg", "ok"],
            rows: steps.map { step in
                [
                    "\(step.rate)", "\(step.sent)", "\(step.delivered)/\(step.expected)", String(format: "%.3f", step.deliveredRatio * 100),
                    step.deliveriesPerSecond.whole, step.delivery.p50.ms, step.delivery.p95.ms, step.delivery.p99.ms,
                    step.delivery.max.ms, step.ack.p50.ms, step.ack.p99.ms,
                    step.serverCPUMicrosecondsPerMessage.map(\.whole) ?? "-", step.sustainable ? "yes" : "no",
                ]
            }
        )
    }
}

extension ConnectionsBenchmark.Result {
    public var table: TextTable {
        TextTable(
            header: ["connections", "open s", "conn/s", "RSS before MB", "RSS after MB", "KB/connection"],
            rows: [[
                "\(connections)", String(format: "%.2f", openSeconds), connectionsPerSecond.whole,
                String(format: "%.1f", Double(rssBeforeBytes) / 1_048_576), String(format: "%.1f", Double(rssAfterBytes) / 1_048_576),
                String(format: "%.1f", rssPerConnectionBytes / 1024),
            ]]
        )
    }
}

extension HistoryBenchmark.Result {
    public var table: TextTable {
        let median = rounds.count > 1 ? medianRoundIndex : nil
        return TextTable(
            header: ["round", "paging", "messages", "pages", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            rows: rounds.enumerated().flatMap { index, round in
                let name = "\(index + 1)" + (index == median ? " (median)" : "")
                return [("offset", round.offset), ("cursor", round.cursor)].map { paging, latency in
                    [name, paging, "\(messages)", "\(latency.count)", latency.p50.ms, latency.p95.ms, latency.p99.ms, latency.max.ms]
                }
            }
        )
    }
}

extension LoginBenchmark.Result {
    public var table: TextTable {
        TextTable(
            header: ["phase", "count", "seconds", "per second", "p50 ms", "p99 ms"],
            rows: [("register", register), ("login", login)].map { name, phase in
                [name, "\(phase.count)", String(format: "%.2f", phase.seconds), String(format: "%.1f", phase.perSecond),
                 phase.latency.p50.ms, phase.latency.p99.ms]
            }
        )
    }
}

extension MediaBenchmark.Result {
    public var table: TextTable {
        let photos = photoSeconds.sorted()
        var rows = rounds.enumerated().map { index, round in
            [
                "\(index + 1)", "\(megabytes) MB", partBytes > 0 ? "\(partBytes / 1024) KiB" : "one stream",
                String(format: "%.0f", round.uploadMBps), String(format: "%.2f", round.completeSeconds), String(format: "%.0f", round.downloadMBps),
                round.serverRSSGrowthBytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "-",
            ]
        }
        if !photos.isEmpty {
            rows.append([
                "photo", "\(photoBytes / 1024) KB", "-", "-",
                String(format: "median %.2f, max %.2f", photos[photos.count / 2], photos.last ?? 0), "-", "-",
            ])
        }
        return TextTable(header: ["round", "file", "parts", "upload MB/s", "complete s", "download MB/s", "server RSS +MB"], rows: rows)
    }
}

import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// What a node measures, in a Prometheus registry of its own, through swift-metrics.
///
/// The registry belongs to the node (`AppServices`) rather than to swift-metrics' process-wide
/// bootstrap, so two nodes in one process (the tests) never mix their numbers. Every label comes
/// from a fixed set: route *templates*, a few methods, the status codes the server answers with,
/// and small enumerations; nothing a client types becomes a label, so the number of series stays
/// bounded whatever is sent.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let requests = Mutex<[RequestKey: (count: CoreMetrics.Counter, duration: CoreMetrics.Timer)]>([:])
    /// Read at each scrape (the connection count, the relay's queue): gauges of a moment.
    private let collectors = Mutex<[@Sendable () async -> Void]>([])

    let webSocketConnections: CoreMetrics.Gauge
    let messagesStored: CoreMetrics.Counter
    let deliveries: CoreMetrics.Counter
    let deliveryLatency: CoreMetrics.Timer
    let catchUps: CoreMetrics.Counter
    let tooLong: CoreMetrics.Counter
    let relayQueueDepth: CoreMetrics.Gauge
    let botAPIErrors: CoreMetrics.Counter
    let uploadBytes: CoreMetrics.Counter
    let mediaProcessing: CoreMetrics.Timer
    let turnCredentials: CoreMetrics.Counter

    /// Buckets for request and processing times (seconds): 1 ms to 30 s.
    static let durationBuckets: [Duration] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000].map { .milliseconds($0) }

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        factory.valueHistogramBuckets["courier_group_commit_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        self.factory = factory
        webSocketConnections = Gauge(label: "courier_websocket_connections", factory: factory)
        messagesStored = Counter(label: "courier_messages_stored_total", factory: factory)
        deliveries = Counter(label: "courier_deliveries_total", factory: factory)
        deliveryLatency = Timer(label: "courier_delivery_latency_seconds", factory: factory)
        catchUps = Counter(label: "courier_update_catch_ups_total", factory: factory)
        tooLong = Counter(label: "courier_update_too_long_total", factory: factory)
        relayQueueDepth = Gauge(label: "courier_telegram_relay_queue_depth", factory: factory)
        botAPIErrors = Counter(label: "courier_telegram_bot_api_errors_total", factory: factory)
        uploadBytes = Counter(label: "courier_upload_bytes_total", factory: factory)
        mediaProcessing = Timer(label: "courier_media_processing_seconds", factory: factory)
        turnCredentials = Counter(label: "courier_turn_credentials_issued_total", factory: factory)
    }

    /// A recorder of the SQLite group commit's batch sizes (commits per transaction).
    public func groupCommitBatchSize() -> @Sendable (Int) -> Void {
        let recorder = Recorder(label: "courier_group_commit_batch_size", factory: factory)
        return { recorder.record($0) }
    }

    /// Counts a request and its time under its route template.
    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let key = RequestKey(method: method, route: route, status: status)
        let instruments = requests.withLock { cache in
            if let found = cache[key] { return found }
            let dimensions = [("method", method), ("route", route), ("status", String(status))]
            let made = (
                Counter(label: "courier_http_requests_total", dimensions: dimensions, factory: factory),
                Timer(label: "courier_http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: factory)
            )
            cache[key] = made
            return made
        }
        instruments.count.increment()
        instruments.duration.record(duration)
    }

    /// Runs `collect` before each scrape, to set gauges of the moment.
    func collect(_ collect: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// The Prometheus text exposition of everything measured.
    public func exposition() async -> [UInt8] {
        for collect in collectors.withLock({ $0 }) { await collect() }
        return registry.emitToBuffer()
    }

    private struct RequestKey: Hashable {
        let method: String
        let route: String
        let status: Int
    }
}

extension CoreMetrics.Timer {
    func record(_ duration: Duration) {
        recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

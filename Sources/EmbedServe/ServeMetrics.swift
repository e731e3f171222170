import EmbedKit
import Foundation
import Hummingbird
import Logging
import Prometheus

/// What `GET /metrics` reports, in Prometheus' text format: requests by route and status, their latencies,
/// the sizes of the batches the model saw, the texts embedded, and the queue's depth.
final class ServeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let batchTexts: ValueHistogram
    private let textsEmbedded: Counter
    private let queueDepth: Gauge
    private let inFlight = Locked(0)
    /// The routes counted by name; any other path is counted as `other`, so a scan cannot grow the labels.
    static let routes: Set<String> = ["/v1/embeddings", "/v1/search", "/healthz", "/metrics"]

    init() {
        batchTexts = registry.makeValueHistogram(
            descriptor: Self.name("batch", "texts", "Texts in each call of the model (micro-batches)"),
            buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256])
        textsEmbedded = registry.makeCounter(descriptor: Self.name("texts_embedded", "total", "Texts embedded"))
        queueDepth = registry.makeGauge(descriptor: Self.name("queue", "texts", "Texts waiting for the model"))
    }

    /// Requests being answered now (for the batcher: whether more texts may come soon).
    var requestsInFlight: Int { inFlight.withLock { $0 } }

    func requestStarted() { inFlight.withLock { $0 += 1 } }
    func requestEnded() { inFlight.withLock { $0 -= 1 } }

    func batch(texts: Int) {
        batchTexts.record(Double(texts))
        textsEmbedded.increment(by: Int64(texts))
    }

    func request(route: String, status: Int, duration: Duration) {
        let route = Self.routes.contains(route) ? route : "other"
        registry.makeCounter(
            descriptor: Self.name("http_requests", "total", "HTTP requests answered"),
            labels: [("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.name("http_request_duration", "seconds", "Time from request to response"),
            labels: [("route", route)],
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)]
        ).record(duration)
    }

    /// `embed_<metric>_<unit>`.
    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "embed", metricName: metric, unitName: unit, helpText: help)
    }

    /// The text format, with the queue's depth as it is now.
    func text(queuedTexts: Int) -> String {
        queueDepth.set(Double(queuedTexts))
        return registry.emitToString()
    }
}

/// Counts and times every request, and writes one access-log line for it (method, path, status, milliseconds).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServeMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        metrics.requestStarted()
        defer { metrics.requestEnded() }
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        metrics.request(route: request.uri.path, status: response.status.code, duration: elapsed)
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
                "ms": "\(String(format: "%.1f", milliseconds))",
            ])
        return response
    }
}

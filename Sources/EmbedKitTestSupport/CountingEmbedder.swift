public import EmbedKit

/// Wraps ``HashEmbedder`` and records how it is used: texts embedded, calls, and the most calls in flight at
/// once. It can be told to fail every batch holding a text that contains ``failMarker`` (with ``failCode``), and
/// to sleep per call.
public final class CountingEmbedder: Embedder {
    public struct Counts: Sendable, Equatable {
        public var calls = 0
        public var texts = 0
        public var inFlight = 0
        public var maxInFlight = 0
    }

    private let base: HashEmbedder
    private let counts = Locked(Counts())
    private let delay: Duration
    public let failMarker: String?
    public let failCode: EmbeddingError.Code

    public init(
        dimension: Int = 384, delay: Duration = .zero, failMarker: String? = nil,
        failCode: EmbeddingError.Code = .transport
    ) {
        base = HashEmbedder(dimension: dimension)
        self.delay = delay
        self.failMarker = failMarker
        self.failCode = failCode
    }

    public var identity: EmbedderIdentity { base.identity }
    public var maxBatchSize: Int { base.maxBatchSize }
    public var tokenCounter: any TokenCounter { base.tokenCounter }

    public var snapshot: Counts { counts.withLock { $0 } }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        counts.withLock {
            $0.calls += 1
            $0.texts += texts.count
            $0.inFlight += 1
            $0.maxInFlight = max($0.maxInFlight, $0.inFlight)
        }
        defer { counts.withLock { $0.inFlight -= 1 } }
        if delay > .zero { try await Task.sleep(for: delay) }
        if let failMarker, texts.contains(where: { $0.contains(failMarker) }) {
            throw EmbeddingError(failCode, "injected failure")
        }
        return try await base.embed(texts)
    }
}

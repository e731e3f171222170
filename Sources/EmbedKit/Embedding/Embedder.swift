/// Turns texts into vectors.
///
/// Contract: `embed(texts)` returns exactly `texts.count` vectors, `result[i]` belonging to `texts[i]`,
/// each with `identity.dimension` finite floats. Implementations are `Sendable` and safe to call from
/// many tasks at once; the pipeline bounds how many calls are in flight.
///
/// To add an embedder, conform to this protocol and give it an ``EmbedderIdentity`` that changes
/// whenever its vectors would change.
public protocol Embedder: Sendable {
    /// Which vector space this embedder produces.
    var identity: EmbedderIdentity { get }
    /// The largest number of texts worth sending in one call.
    var maxBatchSize: Int { get }
    /// Counts text in this embedder's tokens, for sizing chunks.
    var tokenCounter: any TokenCounter { get }
    /// The most tokens one input may have (special tokens excluded), or nil when there is no limit.
    var maxInputTokens: Int? { get }

    /// Embeds a batch of texts.
    /// - Throws: ``EmbeddingError``.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

extension Embedder {
    public var maxInputTokens: Int? { nil }
}

/// Why a batch could not be embedded.
public struct EmbeddingError: CodedError, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The model files are missing or damaged.
        public static let modelUnavailable = Code("model unavailable")
        /// The embedder returned something that breaks the contract (count, dimension, non-finite values).
        public static let badResponse = Code("bad response")
        /// The remote service could not be reached or kept failing.
        public static let transport = Code("transport")
        /// The remote service refused the request (bad key, unknown model, bad input).
        public static let rejected = Code("rejected")
        /// The input is longer than the model accepts.
        public static let inputTooLong = Code("input too long")
    }

    public var code: Code
    /// What happened and what to do about it. Never contains input text or keys.
    public var message: String
    /// True when the problem lies in the set-up (a refused key, an unknown model or URL, a missing model), so
    /// no other input can succeed either: the run stops instead of failing every document one by one.
    public var stopsRun: Bool
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, stopsRun: Bool? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.stopsRun = stopsRun ?? (code == .modelUnavailable)
        self.cause = cause
    }
}

extension EmbeddingError {
    /// Checks an embedder's output against its contract, so a broken embedder cannot corrupt an index.
    public static func validate(_ vectors: [[Float]], count: Int, dimension: Int, source: String) throws {
        guard vectors.count == count else {
            throw EmbeddingError(.badResponse, "\(source) returned \(vectors.count) vectors for \(count) inputs")
        }
        for (i, vector) in vectors.enumerated() {
            guard vector.count == dimension else {
                throw EmbeddingError(
                    .badResponse, "\(source) returned a vector of dimension \(vector.count) at index \(i), expected \(dimension)")
            }
            guard vector.allSatisfy(\.isFinite) else {
                throw EmbeddingError(.badResponse, "\(source) returned a non-finite value in the vector at index \(i)")
            }
        }
    }
}

public import Foundation

/// Embeds texts with any OpenAI-compatible embeddings API (OpenAI, Azure-style proxies, vLLM, llama.cpp,
/// Ollama, LM Studio, text-embeddings-inference, ...).
///
/// It posts `{"model", "input": [...], "encoding_format", "dimensions"?}` to `{baseURL}/embeddings` and reads
/// `data[].embedding` in `data[].index` order.
///
/// ```swift
/// let embedder = try await OpenAICompatibleEmbedder.connect(
///     OpenAICompatibleEmbedder.Configuration(
///         baseURL: URL(string: "https://api.openai.com/v1")!, model: "text-embedding-3-small"))
/// let vectors = try await embedder.embed(["first chunk", "second chunk"])
/// ```
///
/// - **Identity**: name `openai`, model `<model>@<host>` (with `:<port>` when the URL names one), the
///   dimension, and ``Configuration/isNormalized``. The dimension must be known before ingest: it is
///   ``Configuration/dimensions`` when given, otherwise ``connect(_:transport:environment:)`` learns it
///   from one tiny request.
/// - **API key**: read once from the environment variable ``Configuration/apiKeyEnvironmentVariable``
///   (default `EMBED_API_KEY`); when that is the default and unset, `OPENAI_API_KEY` is used, but only for
///   `api.openai.com`, so an OpenAI key is never sent to another host. Without a key no `Authorization`
///   header is sent (local servers need none). The key is kept in memory for the header only; it never
///   appears in the identity, errors, descriptions or reflection.
/// - **Splitting**: one `embed` call is split into requests of at most ``Configuration/maxInputsPerRequest``
///   inputs and ``Configuration/maxTokensPerRequest`` estimated tokens, in order.
/// - **Concurrency**: all calls on one embedder (and its copies) share one ``AdaptiveConcurrencyLimit``: at
///   most ``Configuration/maxConcurrentRequests`` requests are in flight, fewer while the provider answers
///   429 (halved on each 429 burst, +1 after a run of successes).
/// - **Faults**: see ``RetryPolicy``. Errors are ``EmbeddingError``: `.rejected` (4xx),
///   `.transport` (retries exhausted), `.badResponse` (contract broken), `.inputTooLong`; messages name the
///   request (`request 3 (inputs 256..383)`: 1-based request number within the call, inclusive 0-based
///   positions of its inputs in the call) and never contain the key. They contain no input text either, except
///   what a server quotes in the message of a 200 answer whose body is an error (shown, at most 300 characters,
///   because it is often the only clue, such as "model not loaded").
/// - **Hostile servers**: a redirect to another origin is refused (the key would follow it) with a run-stopping
///   error; a response larger than a valid answer for the batch can be (16 MiB at least) fails the request;
///   ``Configuration/requestTimeout`` bounds each attempt by the wall clock.
public struct OpenAICompatibleEmbedder: Embedder {
    /// How to reach the provider and how hard to push it.
    public struct Configuration: Sendable {
        /// The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`; requests go to
        /// `{baseURL}/embeddings`.
        public var baseURL: URL
        /// The model name the provider knows, e.g. `text-embedding-3-small`.
        public var model: String
        /// The output dimension to ask for (sent as `dimensions`; only some models accept it). When nil the
        /// model's native dimension is used and ``OpenAICompatibleEmbedder/connect(_:transport:environment:)``
        /// learns it. Default nil.
        public var dimensions: Int?
        /// How vectors travel. `.base64` (little-endian float32) is about 4x smaller. Default `.float`, which
        /// every compatible server supports.
        public var encoding: Encoding
        /// The environment variable holding the API key. Default `EMBED_API_KEY`.
        public var apiKeyEnvironmentVariable: String
        /// The most requests in flight at once, across all callers. Default 8.
        public var maxConcurrentRequests: Int
        /// The most inputs in one request. Default 128 (OpenAI allows 2048; many local servers much fewer).
        public var maxInputsPerRequest: Int
        /// The most estimated tokens in one request. Default 100 000 (OpenAI allows 300 000; the margin
        /// covers the estimate's error).
        public var maxTokensPerRequest: Int
        /// The most estimated tokens in one input. Default 8191 (OpenAI's embedding models).
        public var maxInputTokens: Int
        /// What to do with an input longer than ``maxInputTokens``. Default `.fail`: nothing is lost silently.
        public var inputLengthPolicy: InputLengthPolicy
        /// How long one attempt may take, by the wall clock for the whole exchange (a server sending one byte at
        /// a time included), before it counts as timed out (and is retried). Default 60 s.
        public var requestTimeout: Duration
        /// When and how to retry. Default ``RetryPolicy/default``.
        public var retryPolicy: RetryPolicy
        /// Whether the provider returns unit-length vectors (OpenAI's models do). Default false: only claim it
        /// when known, since the store relies on it for dot-product search.
        public var isNormalized: Bool

        public init(
            baseURL: URL, model: String, dimensions: Int? = nil, encoding: Encoding = .float,
            apiKeyEnvironmentVariable: String = "EMBED_API_KEY", maxConcurrentRequests: Int = 8,
            maxInputsPerRequest: Int = 128, maxTokensPerRequest: Int = 100_000, maxInputTokens: Int = 8191,
            inputLengthPolicy: InputLengthPolicy = .fail, requestTimeout: Duration = .seconds(60),
            retryPolicy: RetryPolicy = .default, isNormalized: Bool = false
        ) {
            self.baseURL = baseURL
            self.model = model
            self.dimensions = dimensions
            self.encoding = encoding
            self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
            self.maxConcurrentRequests = maxConcurrentRequests
            self.maxInputsPerRequest = maxInputsPerRequest
            self.maxTokensPerRequest = maxTokensPerRequest
            self.maxInputTokens = maxInputTokens
            self.inputLengthPolicy = inputLengthPolicy
            self.requestTimeout = requestTimeout
            self.retryPolicy = retryPolicy
            self.isNormalized = isNormalized
        }
    }

    /// The `encoding_format` of the request.
    public enum Encoding: String, Sendable, Hashable, CaseIterable {
        case float
        case base64
    }

    /// What to do with an input longer than ``Configuration/maxInputTokens``.
    public enum InputLengthPolicy: String, Sendable, Hashable, CaseIterable {
        /// Embed the longest prefix that fits.
        case truncate
        /// Throw ``EmbeddingError/Code/inputTooLong`` before sending anything.
        case fail
    }

    /// The environment variable used when ``Configuration/apiKeyEnvironmentVariable`` is the default and unset
    /// and the host is `api.openai.com`.
    public static let openAIKeyEnvironmentVariable = "OPENAI_API_KEY"
    /// The default ``Configuration/apiKeyEnvironmentVariable``.
    public static let defaultKeyEnvironmentVariable = "EMBED_API_KEY"

    public let identity: EmbedderIdentity
    public let configuration: Configuration
    public let tokenCounter: any TokenCounter = OpenAITokenEstimator()

    /// ``Configuration/maxInputsPerRequest``: a call of this size is one request (token budget permitting);
    /// larger calls are split.
    public var maxBatchSize: Int { configuration.maxInputsPerRequest }
    public var maxInputTokens: Int? { configuration.maxInputTokens }

    /// The number of requests currently allowed in flight (drops below ``Configuration/maxConcurrentRequests``
    /// while the provider rate-limits).
    public var currentConcurrencyLimit: Int { limiter.limit }

    let transport: any HTTPTransport
    let limiter: AdaptiveConcurrencyLimit
    let apiKey: APIKey?
    /// The variable the key came from (or would come from), for error messages.
    let keyVariable: String
    let endpoint: URL
    let host: String

    /// Creates an embedder whose dimension is already known (from ``Configuration/dimensions``, or from an
    /// earlier ``connect(_:transport:environment:)`` recorded in the index).
    /// - Parameters:
    ///   - transport: how requests are sent; default a new ``URLSessionTransport``.
    ///   - environment: where the API key is read from; default the process environment.
    /// - Throws: ``EmbeddingError`` with `.rejected` when the configuration is invalid.
    public init(
        _ configuration: Configuration, dimension: Int, transport: (any HTTPTransport)? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        try Self.validate(configuration)
        guard dimension > 0 else {
            throw EmbeddingError(.rejected, "The embedding dimension must be positive, not \(dimension).")
        }
        if let requested = configuration.dimensions, requested != dimension {
            throw EmbeddingError(
                .rejected, "The configured dimensions (\(requested)) and the dimension (\(dimension)) differ.")
        }
        self.configuration = configuration
        self.transport = transport ?? URLSessionTransport(maxConnectionsPerHost: configuration.maxConcurrentRequests)
        self.limiter = AdaptiveConcurrencyLimit(maxLimit: configuration.maxConcurrentRequests)
        let url = configuration.baseURL
        var host = url.host ?? ""
        if let port = url.port { host += ":\(port)" }
        self.host = host
        self.endpoint = url.appendingPathComponent("embeddings")
        (self.apiKey, self.keyVariable) = Self.resolveKey(configuration, host: url.host ?? "", environment: environment)
        self.identity = EmbedderIdentity(
            name: "openai", model: "\(configuration.model)@\(host)", dimension: dimension,
            isNormalized: configuration.isNormalized)
    }

    /// Creates an embedder, learning the dimension from one tiny request when
    /// ``Configuration/dimensions`` is nil (sending nothing when it is given).
    /// - Throws: ``EmbeddingError`` when the configuration is invalid or the probe request fails.
    public static func connect(
        _ configuration: Configuration, transport: (any HTTPTransport)? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> OpenAICompatibleEmbedder {
        let transport = transport ?? URLSessionTransport(maxConnectionsPerHost: configuration.maxConcurrentRequests)
        if let dimensions = configuration.dimensions {
            return try OpenAICompatibleEmbedder(
                configuration, dimension: dimensions, transport: transport, environment: environment)
        }
        // A placeholder dimension; the probe request checks no dimension.
        let probe = try OpenAICompatibleEmbedder(
            configuration, dimension: 1, transport: transport, environment: environment)
        let vectors = try await probe.send(["dimension probe"], label: "the dimension probe", expectedDimension: nil)
        return try OpenAICompatibleEmbedder(
            configuration, dimension: vectors[0].count, transport: transport, environment: environment)
    }

    /// Embeds `texts`, splitting them into requests and sending those concurrently within the shared limit.
    /// - Returns: one vector per text, in order, each of ``identity`` `.dimension` finite floats.
    /// - Throws: ``EmbeddingError``; `CancellationError` when cancelled.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        if texts.isEmpty { return [] }
        let (inputs, tokenCounts) = try prepare(texts)
        let batches = Self.plan(
            tokenCounts: tokenCounts, maxInputs: configuration.maxInputsPerRequest,
            maxTokens: configuration.maxTokensPerRequest)
        let dimension = identity.dimension
        // The shared limiter bounds requests in flight; the bound here bounds child tasks per call.
        let perBatch = try await Array(batches.enumerated()).boundedConcurrentMap(
            maxConcurrentTasks: configuration.maxConcurrentRequests
        ) { number, range in
            let label = "request \(number + 1) (inputs \(range.lowerBound)..\(range.upperBound - 1))"
            return try await send(Array(inputs[range]), label: label, expectedDimension: dimension)
        }
        let results = Array(perBatch.joined())
        try EmbeddingError.validate(results, count: texts.count, dimension: dimension, source: "The embeddings API")
        return results
    }

    // MARK: - Preparing inputs

    /// Applies the input-length policy and estimates each input's tokens.
    func prepare(_ texts: [String]) throws -> ([String], [Int]) {
        let estimator = OpenAITokenEstimator()
        let limit = configuration.maxInputTokens
        var inputs = texts
        var counts: [Int] = []
        counts.reserveCapacity(texts.count)
        for (i, text) in texts.enumerated() {
            var count = estimator.tokenCount(text[...])
            if count > limit {
                switch configuration.inputLengthPolicy {
                case .fail:
                    throw EmbeddingError(
                        .inputTooLong,
                        "Input \(i) has about \(count) tokens, more than the \(limit) allowed for \(configuration.model). "
                            + "Use smaller chunks, or the truncate input-length policy.")
                case .truncate:
                    let prefix = estimator.prefix(of: text, maxTokens: limit)
                    inputs[i] = String(prefix)
                    count = estimator.tokenCount(prefix)
                }
            }
            counts.append(count)
        }
        return (inputs, counts)
    }

    /// Splits inputs, in order, into consecutive ranges of at most `maxInputs` inputs and at most `maxTokens`
    /// tokens (an input alone over the budget gets a request of its own).
    static func plan(tokenCounts: [Int], maxInputs: Int, maxTokens: Int) -> [Range<Int>] {
        var batches: [Range<Int>] = []
        var start = 0
        var tokens = 0
        for (i, count) in tokenCounts.enumerated() {
            if i > start, i - start >= maxInputs || tokens + count > maxTokens {
                batches.append(start..<i)
                start = i
                tokens = 0
            }
            tokens += count
        }
        if start < tokenCounts.count { batches.append(start..<tokenCounts.count) }
        return batches
    }

    // MARK: - Configuration and key

    private static func validate(_ configuration: Configuration) throws {
        let url = configuration.baseURL
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
            throw EmbeddingError(
                .rejected,
                "The base URL \(HTTPURLs.display(url)) is not an http(s) URL with a host, such as https://api.openai.com/v1."
            )
        }
        // Credentials in the URL would be recorded in the index and shown in messages; the key has its variable.
        guard !HTTPURLs.hasUserInfo(url) else {
            throw EmbeddingError(
                .rejected,
                "The base URL \(HTTPURLs.display(url)) must not contain a user name or password: they would be stored "
                    + "in the index in plain text. Put the API key in the environment variable "
                    + "\(configuration.apiKeyEnvironmentVariable) instead (it is sent as a bearer token).")
        }
        guard !configuration.model.isEmpty else {
            throw EmbeddingError(
                .rejected, "No model name given. Name the provider's embedding model, such as text-embedding-3-small.")
        }
        let positive: [(String, Int)] = [
            ("maxConcurrentRequests", configuration.maxConcurrentRequests),
            ("maxInputsPerRequest", configuration.maxInputsPerRequest),
            ("maxTokensPerRequest", configuration.maxTokensPerRequest),
            ("maxInputTokens", configuration.maxInputTokens),
        ]
        for (name, value) in positive where value < 1 {
            throw EmbeddingError(.rejected, "\(name) must be at least 1, not \(value).")
        }
        if let dimensions = configuration.dimensions, dimensions < 1 {
            throw EmbeddingError(.rejected, "dimensions must be at least 1, not \(dimensions).")
        }
    }

    private static func resolveKey(
        _ configuration: Configuration, host: String, environment: [String: String]
    ) -> (APIKey?, String) {
        let variable = configuration.apiKeyEnvironmentVariable
        if let value = environment[variable], !value.isEmpty { return (APIKey(value), variable) }
        if variable == defaultKeyEnvironmentVariable, host.lowercased() == "api.openai.com",
            let value = environment[openAIKeyEnvironmentVariable], !value.isEmpty
        {
            return (APIKey(value), openAIKeyEnvironmentVariable)
        }
        return (nil, variable)
    }
}

/// An API key that never shows itself in descriptions, debug output or reflection.
struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String
    init(_ value: String) { self.value = value }
    var description: String { "<redacted>" }
    var debugDescription: String { "<redacted>" }
    var customMirror: Mirror { Mirror(self, children: []) }
}

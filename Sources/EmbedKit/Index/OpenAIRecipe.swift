public import Foundation

/// How an openai embedder was configured, as an index records it so that `reindex` and `query` can build the
/// same embedder again. Never a secret: the key's variable name, not its value; never a user name or password
/// in the URL. A field that is nil was not given, and the library's default applies
/// (``OpenAICompatibleEmbedder/Configuration``).
///
/// Stored in `index_meta` under `embedder_options` as a JSON object of strings, with the keys below: the
/// format every openai index has had, so none needs rebuilding. A fleet (``EmbeddingFleet``) keeps its first
/// endpoint in `base_url`, which older builds read, and the others in `more_base_urls`, one per line.
public struct OpenAIRecipe: Sendable, Equatable, Codable {
    public var baseURL: String?
    /// The fleet's other endpoints, after ``baseURL``; nil or empty for one endpoint.
    public var moreBaseURLs: [String]?
    public var model: String?
    public var dimensions: Int?
    public var encoding: OpenAICompatibleEmbedder.Encoding?
    public var apiKeyEnvironmentVariable: String?
    public var maxInputsPerRequest: Int?
    public var maxInputTokens: Int?
    public var inputLengthPolicy: OpenAICompatibleEmbedder.InputLengthPolicy?
    public var requestTimeoutSeconds: Int?

    public init(
        baseURL: String? = nil, model: String? = nil, dimensions: Int? = nil,
        encoding: OpenAICompatibleEmbedder.Encoding? = nil, apiKeyEnvironmentVariable: String? = nil,
        maxInputsPerRequest: Int? = nil, maxInputTokens: Int? = nil,
        inputLengthPolicy: OpenAICompatibleEmbedder.InputLengthPolicy? = nil, requestTimeoutSeconds: Int? = nil,
        moreBaseURLs: [String]? = nil
    ) {
        self.baseURL = baseURL
        self.moreBaseURLs = moreBaseURLs
        self.model = model
        self.dimensions = dimensions
        self.encoding = encoding
        self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
        self.maxInputsPerRequest = maxInputsPerRequest
        self.maxInputTokens = maxInputTokens
        self.inputLengthPolicy = inputLengthPolicy
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    /// True when nothing was given.
    public var isEmpty: Bool { self == OpenAIRecipe() }

    /// Each field of this recipe, else `other`'s: flags over what an index recorded.
    public func over(_ other: OpenAIRecipe?) -> OpenAIRecipe {
        guard let other else { return self }
        return OpenAIRecipe(
            baseURL: baseURL ?? other.baseURL, model: model ?? other.model, dimensions: dimensions ?? other.dimensions,
            encoding: encoding ?? other.encoding,
            apiKeyEnvironmentVariable: apiKeyEnvironmentVariable ?? other.apiKeyEnvironmentVariable,
            maxInputsPerRequest: maxInputsPerRequest ?? other.maxInputsPerRequest,
            maxInputTokens: maxInputTokens ?? other.maxInputTokens,
            inputLengthPolicy: inputLengthPolicy ?? other.inputLengthPolicy,
            requestTimeoutSeconds: requestTimeoutSeconds ?? other.requestTimeoutSeconds,
            // The endpoints go together: a base URL given replaces the whole recorded fleet.
            moreBaseURLs: baseURL != nil ? moreBaseURLs : other.moreBaseURLs)
    }

    /// The configuration this recipe asks for, the library's defaults filling what it leaves out.
    /// - Throws: ``UsageError`` when the base URL or the model is missing.
    public func configuration(maxConcurrentRequests: Int) throws -> OpenAICompatibleEmbedder.Configuration {
        guard let baseURL, let url = URL(string: baseURL) else {
            throw UsageError("--embedder openai needs --base-url, e.g. http://127.0.0.1:11434/v1")
        }
        guard let model else { throw UsageError("--embedder openai needs --model, e.g. text-embedding-3-small") }
        var configuration = OpenAICompatibleEmbedder.Configuration(baseURL: url, model: model)
        configuration.dimensions = dimensions
        if let encoding { configuration.encoding = encoding }
        if let apiKeyEnvironmentVariable { configuration.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable }
        if let maxInputsPerRequest { configuration.maxInputsPerRequest = maxInputsPerRequest }
        if let maxInputTokens { configuration.maxInputTokens = maxInputTokens }
        if let inputLengthPolicy { configuration.inputLengthPolicy = inputLengthPolicy }
        if let requestTimeoutSeconds { configuration.requestTimeout = .seconds(requestTimeoutSeconds) }
        configuration.maxConcurrentRequests = maxConcurrentRequests
        return configuration
    }

    /// The fleet's endpoints after the first (none for one endpoint).
    /// - Throws: ``UsageError`` when one is not a URL.
    public func moreEndpoints() throws -> [URL] {
        try (moreBaseURLs ?? []).map { text in
            guard let url = URL(string: text) else { throw UsageError("The endpoint \(text) is not a URL.") }
            return url
        }
    }

    /// This recipe as it may be recorded: a user name or password in the URL removed (an index recorded before
    /// they were refused may still hold them).
    public var recordable: OpenAIRecipe {
        var recipe = self
        recipe.baseURL = baseURL.map(HTTPURLs.removingUserInfo)
        recipe.moreBaseURLs = moreBaseURLs.map { $0.map(HTTPURLs.removingUserInfo) }
        return recipe
    }

    // The keys and string values of the `embedder_options` row since the first openai index.
    private enum CodingKeys: String, CodingKey {
        case baseURL = "base_url"
        case moreBaseURLs = "more_base_urls"
        case model
        case dimensions
        case encoding
        case apiKeyEnvironmentVariable = "api_key_env"
        case maxInputsPerRequest = "max_inputs_per_request"
        case maxInputTokens = "max_input_tokens"
        case inputLengthPolicy = "long_inputs"
        case requestTimeoutSeconds = "request_timeout"
    }

    // A value that does not parse counts as not given, as it always has: the default applies.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func string(_ key: CodingKeys) -> String? { try? container.decodeIfPresent(String.self, forKey: key) }
        baseURL = string(.baseURL)
        moreBaseURLs = string(.moreBaseURLs).map { $0.split(separator: "\n").map(String.init) }
        model = string(.model)
        dimensions = string(.dimensions).flatMap { Int($0) }
        encoding = string(.encoding).flatMap { .init(rawValue: $0) }
        apiKeyEnvironmentVariable = string(.apiKeyEnvironmentVariable)
        maxInputsPerRequest = string(.maxInputsPerRequest).flatMap { Int($0) }
        maxInputTokens = string(.maxInputTokens).flatMap { Int($0) }
        inputLengthPolicy = string(.inputLengthPolicy).flatMap { .init(rawValue: $0) }
        requestTimeoutSeconds = string(.requestTimeoutSeconds).flatMap { Int($0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(baseURL, forKey: .baseURL)
        // Left out for one endpoint, so a single-server index records exactly what it always has.
        if let moreBaseURLs, !moreBaseURLs.isEmpty {
            try container.encode(moreBaseURLs.joined(separator: "\n"), forKey: .moreBaseURLs)
        }
        try container.encodeIfPresent(model, forKey: .model)
        try container.encodeIfPresent(dimensions.map(String.init), forKey: .dimensions)
        try container.encodeIfPresent(encoding?.rawValue, forKey: .encoding)
        try container.encodeIfPresent(apiKeyEnvironmentVariable, forKey: .apiKeyEnvironmentVariable)
        try container.encodeIfPresent(maxInputsPerRequest.map(String.init), forKey: .maxInputsPerRequest)
        try container.encodeIfPresent(maxInputTokens.map(String.init), forKey: .maxInputTokens)
        try container.encodeIfPresent(inputLengthPolicy?.rawValue, forKey: .inputLengthPolicy)
        try container.encodeIfPresent(requestTimeoutSeconds.map(String.init), forKey: .requestTimeoutSeconds)
    }
}

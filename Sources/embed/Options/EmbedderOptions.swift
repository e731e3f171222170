import ArgumentParser
import EmbedKit
import EmbedKitBERT
import Foundation

/// The embedders `embed` can use.
enum EmbedderKind: String, ExpressibleByArgument, CaseIterable {
    /// The native all-MiniLM-L6-v2 (sentence-transformers), on the CPU.
    case minilm
    /// Feature hashing of words and bigrams: no model, no network.
    case hash
    /// Any OpenAI-compatible embeddings API.
    case openai

    /// The embedder used when neither the command line nor the index names one.
    static let `default`: EmbedderKind = .minilm
}

/// `--embedder` and the options of each embedder.
struct EmbedderOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The embedder: \(EmbedderKind.allCases.map(\.rawValue).joined(separator: ", ")).",
            discussion: "Default: with an index, the one it was built with; otherwise \(EmbedderKind.default.rawValue)."))
    var embedder: EmbedderKind?

    @Option(
        help: ArgumentHelp(
            "Put this before every query before it is embedded, e.g. 'query: ' (e5) or 'search_query: ' (nomic).",
            discussion: "Default: with an index, its own; otherwise none. An index records it with the embedder and refuses another."))
    var queryPrefix: String?

    @Option(
        help: ArgumentHelp(
            "Put this before every chunk before it is embedded, e.g. 'passage: ' (e5) or 'search_document: ' (nomic).",
            discussion: "Default: with an index, its own; otherwise none. An index records it with the embedder and refuses another."))
    var documentPrefix: String?

    @Option(
        help: ArgumentHelp(
            "minilm: the model folder.",
            discussion: """
                Default: $EMBED_MODEL_DIR, else the first all-MiniLM-L6-v2 folder in ../share/embed/models beside \
                the embed executable (symlinks resolved), $XDG_DATA_HOME/embed/models (~/.local/share/embed/models), \
                /usr/local/share/embed/models, /usr/share/embed/models, ./models.
                """),
        completion: .directory)
    var modelDir: String?

    @Option(help: "openai: the API root, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1.")
    var baseURL: String?

    @Option(help: "openai: the model, e.g. text-embedding-3-small or nomic-embed-text.")
    var model: String?

    @Option(help: "openai: the output dimension to ask for (models that support it).")
    var dimensions: Int?

    @Option(
        help: "openai: how vectors travel: float or base64 (smaller).",
        completion: .list(rawValues(OpenAICompatibleEmbedder.Encoding.self)))
    var encoding: String?

    @Option(help: "openai: the environment variable that holds the API key (default EMBED_API_KEY).")
    var apiKeyEnv: String?

    @Option(help: "openai: texts per request.")
    var maxInputsPerRequest: Int?

    @Option(help: "openai: the most tokens one input may have (estimated).")
    var maxInputTokens: Int?

    @Option(
        help: "openai: what to do with a longer input: fail or truncate.",
        completion: .list(rawValues(OpenAICompatibleEmbedder.InputLengthPolicy.self)))
    var longInputs: String?

    @Option(help: "openai: seconds before a request counts as timed out and is retried.")
    var requestTimeout: Int?

    /// The options that rebuild the same embedder later (no secrets: the key's variable name, not its value).
    func recorded(merging stored: [String: String]) -> [String: String] {
        var options = stored
        // Never a user name or password: an index recorded before they were refused may still hold them.
        options["base_url"] = (baseURL ?? stored["base_url"]).map(HTTPURLs.removingUserInfo)
        options["model"] = model ?? stored["model"]
        options["dimensions"] = dimensions.map(String.init) ?? stored["dimensions"]
        options["encoding"] = encoding ?? stored["encoding"]
        options["api_key_env"] = apiKeyEnv ?? stored["api_key_env"]
        options["max_inputs_per_request"] = maxInputsPerRequest.map(String.init) ?? stored["max_inputs_per_request"]
        options["max_input_tokens"] = maxInputTokens.map(String.init) ?? stored["max_input_tokens"]
        options["long_inputs"] = longInputs ?? stored["long_inputs"]
        options["request_timeout"] = requestTimeout.map(String.init) ?? stored["request_timeout"]
        return options
    }

    func validate() throws {
        if let encoding, OpenAICompatibleEmbedder.Encoding(rawValue: encoding) == nil {
            throw ValidationError("--encoding must be float or base64.")
        }
        if let longInputs, OpenAICompatibleEmbedder.InputLengthPolicy(rawValue: longInputs) == nil {
            throw ValidationError("--long-inputs must be fail or truncate.")
        }
        if let dimensions, dimensions < 1 { throw ValidationError("--dimensions must be positive.") }
        if let baseURL, URL(string: baseURL)?.scheme == nil {
            throw ValidationError("--base-url must be a URL such as http://127.0.0.1:8080/v1.")
        }
        // Refused rather than used: the URL is recorded in the index and shown in messages.
        if let baseURL, let url = URL(string: baseURL), HTTPURLs.hasUserInfo(url) {
            throw ValidationError(
                "--base-url must not contain a user name or password (they would be stored in the index in plain "
                    + "text). Give the API key in the environment variable \(apiKeyEnv ?? OpenAICompatibleEmbedder.defaultKeyEnvironmentVariable) instead; it is sent as a bearer token.")
        }
    }

    /// Builds the embedder named on the command line, else the one `settings` records, else the default, with
    /// the prefixes given on the command line, else those `settings` records, else none.
    /// - Parameters:
    ///   - stored: the embedder options recorded in the index, used where no flag is given.
    ///   - concurrency: requests in flight at most (remote embedders).
    ///   - kind: what the embedder will be given, queries or chunks: it puts that kind's prefix before each.
    func makeEmbedder(
        for settings: IndexSettings?, stored: [String: String] = [:], concurrency: Int = 8,
        embedding kind: PrefixedEmbedder.TextKind
    ) async throws -> any Embedder {
        let base = try await makeBaseEmbedder(for: settings, stored: stored, concurrency: concurrency)
        let embedder = base.prefixing(
            query: queryPrefix ?? settings?.embedder.queryPrefix ?? "",
            document: documentPrefix ?? settings?.embedder.documentPrefix ?? "", embedding: kind)
        // The prefix must leave room for text; chunks are at least 8 tokens (--chunk-tokens).
        if let prefixed = embedder as? PrefixedEmbedder, let window = base.maxInputTokens, window - prefixed.prefixTokens < 8 {
            throw ValidationError(
                "--\(kind.rawValue)-prefix \(EmbedderIdentity.quoted(prefixed.prefix)) takes \(prefixed.prefixTokens) of the "
                    + "\(window) tokens \(base.identity.model) reads, leaving too few for the text; use a shorter prefix.")
        }
        return embedder
    }

    private func makeBaseEmbedder(for settings: IndexSettings?, stored: [String: String], concurrency: Int)
        async throws -> any Embedder
    {
        let kind = embedder ?? settings.flatMap { EmbedderKind(rawValue: $0.embedder.name) } ?? .default
        let storedDimension = settings.flatMap { $0.embedder.name == kind.rawValue ? $0.embedder.dimension : nil }
        switch kind {
        case .hash:
            return HashEmbedder(dimension: storedDimension ?? 384)
        case .minilm:
            return try BertEmbedder.load(modelDirectory: modelDir.map { URL(fileURLWithPath: $0, isDirectory: true) })
        case .openai:
            let options = recorded(merging: stored)
            guard let base = options["base_url"], let url = URL(string: base) else {
                throw ValidationError("--embedder openai needs --base-url, e.g. http://127.0.0.1:11434/v1")
            }
            guard let model = options["model"] else {
                throw ValidationError("--embedder openai needs --model, e.g. text-embedding-3-small")
            }
            var configuration = OpenAICompatibleEmbedder.Configuration(baseURL: url, model: model)
            configuration.dimensions = options["dimensions"].flatMap { Int($0) }
            configuration.encoding = options["encoding"].flatMap { .init(rawValue: $0) } ?? .float
            configuration.apiKeyEnvironmentVariable = options["api_key_env"] ?? configuration.apiKeyEnvironmentVariable
            configuration.maxInputsPerRequest = options["max_inputs_per_request"].flatMap { Int($0) } ?? 64
            configuration.maxInputTokens = options["max_input_tokens"].flatMap { Int($0) } ?? configuration.maxInputTokens
            configuration.inputLengthPolicy = options["long_inputs"].flatMap { .init(rawValue: $0) } ?? .fail
            configuration.requestTimeout = .seconds(options["request_timeout"].flatMap { Int($0) } ?? 30)
            configuration.maxConcurrentRequests = concurrency
            if let storedDimension {
                return try OpenAICompatibleEmbedder(configuration, dimension: storedDimension)
            }
            return try await OpenAICompatibleEmbedder.connect(configuration)
        }
    }
}

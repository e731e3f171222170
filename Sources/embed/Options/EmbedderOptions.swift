import ArgumentParser
import EmbedKit
import Foundation

/// `--embedder` and the options of each embedder.
struct EmbedderOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The embedder: \(EmbedderKind.allCases.map(\.rawValue).joined(separator: ", ")).",
            discussion: "Default: with an index, the one it was built with; otherwise \(EmbedderKind.default.rawValue)."),
        completion: .list(rawValues(EmbedderKind.self)), transform: choice("--embedder"))
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

    @Option(
        help: ArgumentHelp(
            "minilm: the arithmetic of the linear layers: fp32 or bf16.",
            discussion: """
                Default fp32. bf16 is about twice as fast on CPUs with AVX512_BF16 and refused on others; its vectors \
                stay within cosine 0.9999 of fp32's, so an index built with one is searched and updated with the other.
                """),
        completion: .list(rawValues(ModelPrecision.self)), transform: choice("--precision"))
    var precision: ModelPrecision?

    @Option(
        help: ArgumentHelp(
            "openai: the API root, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1.",
            discussion: """
                Give it several times for a fleet of servers that serve the same model: requests go to the one with \
                the fewest in flight, a failing one is taken out and probed back in, and the index is named after \
                the first. Default: with an index, the endpoints it recorded.
                """))
    var baseURL: [String] = []

    @Option(
        help: ArgumentHelp(
            "openai: a file listing the fleet's API roots, one per line (blank lines and # comments ignored).",
            discussion: "Instead of --base-url given several times; the first line names the index."),
        completion: .file())
    var endpoints: String?

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

    @Option(help: "openai: texts per request (default: the index's own, else 128).")
    var maxInputsPerRequest: Int?

    @Option(help: "openai: the most tokens one input may have, estimated (default: the index's own, else 8191).")
    var maxInputTokens: Int?

    @Option(
        help: "openai: what to do with a longer input: fail or truncate.",
        completion: .list(rawValues(OpenAICompatibleEmbedder.InputLengthPolicy.self)))
    var longInputs: String?

    @Option(help: "openai: seconds before a request counts as timed out and is retried (default: the index's own, else 60).")
    var requestTimeout: Int?

    /// What the flags ask for; the index's recipe and the library's defaults fill the rest
    /// (``EmbedderRequest/resolved(against:)``).
    /// - Throws: ``UsageError`` when the `--endpoints` file cannot be read or lists a bad line.
    func request(concurrency: Int = 8) throws -> EmbedderRequest {
        let baseURLs = try endpoints.map(EndpointList.read) ?? baseURL
        return EmbedderRequest(
            kind: embedder, queryPrefix: queryPrefix, documentPrefix: documentPrefix, modelDirectory: modelDir,
            precision: precision, openai: OpenAIRecipe(
                baseURL: baseURLs.first, model: model, dimensions: dimensions,
                encoding: encoding.flatMap { .init(rawValue: $0) }, apiKeyEnvironmentVariable: apiKeyEnv,
                maxInputsPerRequest: maxInputsPerRequest, maxInputTokens: maxInputTokens,
                inputLengthPolicy: longInputs.flatMap { .init(rawValue: $0) }, requestTimeoutSeconds: requestTimeout,
                moreBaseURLs: baseURLs.isEmpty ? nil : Array(baseURLs.dropFirst())),
            concurrency: concurrency)
    }

    func validate() throws {
        if let encoding, OpenAICompatibleEmbedder.Encoding(rawValue: encoding) == nil {
            throw ValidationError("--encoding must be float or base64.")
        }
        if let longInputs, OpenAICompatibleEmbedder.InputLengthPolicy(rawValue: longInputs) == nil {
            throw ValidationError("--long-inputs must be fail or truncate.")
        }
        if let dimensions, dimensions < 1 { throw ValidationError("--dimensions must be positive.") }
        if let maxInputsPerRequest, maxInputsPerRequest < 1 { throw ValidationError("--max-inputs-per-request must be positive.") }
        if let maxInputTokens, maxInputTokens < 1 { throw ValidationError("--max-input-tokens must be positive.") }
        if let requestTimeout, requestTimeout < 1 { throw ValidationError("--request-timeout must be positive.") }
        if endpoints != nil, !baseURL.isEmpty {
            throw ValidationError("Give the endpoints with --base-url (several times for a fleet) or --endpoints, not both.")
        }
        if let endpoints {
            do {
                _ = try EndpointList.read(endpoints)
            } catch let error as UsageError {
                throw ValidationError(error.message)
            }
        }
        if baseURL.contains(where: { URL(string: $0)?.scheme == nil }) {
            throw ValidationError("--base-url must be a URL such as http://127.0.0.1:8080/v1.")
        }
        // Refused rather than used: the URL is recorded in the index and shown in messages.
        if baseURL.contains(where: { URL(string: $0).map(HTTPURLs.hasUserInfo) ?? false }) {
            throw ValidationError(
                "--base-url must not contain a user name or password (they would be stored in the index in plain "
                    + "text). Give the API key in the environment variable \(apiKeyEnv ?? OpenAICompatibleEmbedder.defaultKeyEnvironmentVariable) instead; it is sent as a bearer token.")
        }
    }
}

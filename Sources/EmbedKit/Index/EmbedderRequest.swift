import Foundation

/// The arithmetic of a local model's linear layers. Not part of an index's identity: bf16's vectors stay within the
/// parity bound of fp32's (cosine ≥ 0.9999), so an index built with one is searched and updated with the other.
public enum ModelPrecision: String, Sendable, Hashable, CaseIterable, Codable {
    /// fp32 throughout, on every CPU. The default.
    case fp32
    /// bf16 weights and inputs to the linear layers, fp32 sums and everything else: CPUs with AVX512_BF16 only.
    case bf16
}

/// The embedder a command asks for: every field nil unless given. Resolved against an index's recipe field
/// by field: what is asked, else what the index recorded, else the library's default.
public struct EmbedderRequest: Sendable, Equatable {
    public var kind: EmbedderKind?
    public var queryPrefix: String?
    public var documentPrefix: String?
    /// minilm: the model folder; nil searches the usual places (``ModelLocations`` in EmbedKitBERT).
    public var modelDirectory: String?
    /// minilm: the precision of the linear layers; nil is fp32.
    public var precision: ModelPrecision?
    /// openai: what was asked for; the recorded configuration fills the rest.
    public var openai: OpenAIRecipe
    /// Requests in flight at most (remote embedders).
    public var concurrency: Int

    public init(
        kind: EmbedderKind? = nil, queryPrefix: String? = nil, documentPrefix: String? = nil,
        modelDirectory: String? = nil, precision: ModelPrecision? = nil, openai: OpenAIRecipe = OpenAIRecipe(),
        concurrency: Int = 8
    ) {
        self.precision = precision
        self.kind = kind
        self.queryPrefix = queryPrefix
        self.documentPrefix = documentPrefix
        self.modelDirectory = modelDirectory
        self.openai = openai
        self.concurrency = concurrency
    }

    /// What to build for an index built with `recipe` (nil: a new index, or none).
    public func resolved(against recipe: IndexRecipe?) -> ResolvedEmbedder {
        let kind = kind ?? recipe.flatMap { EmbedderKind(rawValue: $0.identity.name) } ?? .default
        // The recorded dimension and options belong to the recorded embedder, not to another one asked for.
        let same = recipe.flatMap { $0.identity.name == kind.rawValue ? $0 : nil }
        let spec: EmbedderSpec
        switch kind {
        case .minilm: spec = .minilm
        case .hash: spec = .hash(dimension: same?.identity.dimension ?? HashEmbedder.defaultDimension)
        case .openai: spec = .openai(openai.over(same?.openai).recordable)
        }
        return ResolvedEmbedder(
            spec: spec, recordedDimension: same?.identity.dimension,
            queryPrefix: queryPrefix ?? recipe?.identity.queryPrefix ?? "",
            documentPrefix: documentPrefix ?? recipe?.identity.documentPrefix ?? "",
            modelDirectory: modelDirectory, precision: precision ?? .fp32, concurrency: concurrency)
    }
}

/// An embedder request resolved against an index: everything needed to build the embedder.
public struct ResolvedEmbedder: Sendable, Equatable {
    public var spec: EmbedderSpec
    /// The dimension the index recorded for this embedder: an openai embedder then needs no request to learn it.
    public var recordedDimension: Int?
    public var queryPrefix: String
    public var documentPrefix: String
    public var modelDirectory: String?
    /// minilm: the precision of the linear layers.
    public var precision: ModelPrecision = .fp32
    public var concurrency: Int

    /// The openai configuration to record in the index; nil for other embedders.
    public var recordedOpenAI: OpenAIRecipe? {
        if case .openai(let recipe) = spec { return recipe }
        return nil
    }

    /// Puts the resolved prefixes before the texts `base` embeds, for `kind`.
    /// - Throws: ``UsageError`` when the prefix leaves the model too few tokens for the text.
    public func prefixing(_ base: any Embedder, embedding kind: PrefixedEmbedder.TextKind) throws -> any Embedder {
        let embedder = base.prefixing(query: queryPrefix, document: documentPrefix, embedding: kind)
        // The prefix must leave room for text; chunks are at least 8 tokens (--chunk-tokens).
        if let prefixed = embedder as? PrefixedEmbedder, let window = base.maxInputTokens,
            window - prefixed.prefixTokens < 8
        {
            throw UsageError(
                "--\(kind.rawValue)-prefix \(EmbedderIdentity.quoted(prefixed.prefix)) takes \(prefixed.prefixTokens) of the "
                    + "\(window) tokens \(base.identity.model) reads, leaving too few for the text; use a shorter prefix.")
        }
        return embedder
    }
}

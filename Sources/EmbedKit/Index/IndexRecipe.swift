import Foundation

/// The embedders an index can be built with.
public enum EmbedderKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// The native all-MiniLM-L6-v2 (sentence-transformers), on the CPU.
    case minilm
    /// Feature hashing of words and bigrams: no model, no network.
    case hash
    /// Any OpenAI-compatible embeddings API.
    case openai

    /// The embedder used when neither the request nor the index names one.
    public static let `default`: EmbedderKind = .minilm
}

/// How to build an index's embedder again.
public enum EmbedderSpec: Sendable, Equatable {
    case minilm
    case hash(dimension: Int)
    /// The recorded configuration (never the key).
    case openai(OpenAIRecipe)

    public var kind: EmbedderKind {
        switch self {
        case .minilm: .minilm
        case .hash: .hash
        case .openai: .openai
        }
    }
}

/// Everything an index was built with and records: what it guards (the embedder's identity with its prefixes,
/// the chunking and the chunk context: ``IndexSettings``), how to build its embedder again, and the roots it
/// was ingested from with their walk options.
///
/// It is read from the `index_meta` rows every index has had (`settings`, `embedder_options`, `roots`), each a
/// JSON document of a type with explicit coding keys, so renaming a Swift property changes no stored name and
/// no index needs rebuilding.
public struct IndexRecipe: Sendable, Equatable {
    public var settings: IndexSettings
    /// The openai embedder's recorded configuration; nil for other embedders and indexes that recorded none.
    public var openai: OpenAIRecipe?
    public var roots: [IngestRoot]

    public init(settings: IndexSettings, openai: OpenAIRecipe? = nil, roots: [IngestRoot] = []) {
        self.settings = settings
        self.openai = openai
        self.roots = roots
    }

    public var identity: EmbedderIdentity { settings.embedder }

    /// How to build the embedder again; nil when the index names an embedder this build does not know.
    public var embedder: EmbedderSpec? {
        switch EmbedderKind(rawValue: identity.name) {
        case .minilm: .minilm
        case .hash: .hash(dimension: identity.dimension)
        case .openai: .openai(openai ?? OpenAIRecipe())
        case nil: nil
        }
    }
}

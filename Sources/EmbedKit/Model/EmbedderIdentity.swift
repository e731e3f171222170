/// What produced a vector: two vectors are comparable only when their identities are equal.
///
/// An index records the identity of the embedder that built it and refuses vectors of any other.
public struct EmbedderIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The embedder kind: `hash`, `minilm`, `openai`.
    public var name: String
    /// The model, including anything that changes its vectors (for `openai`, the base URL's provider and model).
    public var model: String
    public var dimension: Int
    /// True when every vector has unit L2 norm, so a dot product is the cosine similarity.
    public var isNormalized: Bool
    /// Put before every query before it is embedded (`query: ` for e5, `search_query: ` for nomic); empty for none.
    public var queryPrefix: String
    /// Put before every chunk before it is embedded (`passage: `, `search_document: `); empty for none.
    public var documentPrefix: String

    public init(
        name: String, model: String, dimension: Int, isNormalized: Bool, queryPrefix: String = "",
        documentPrefix: String = ""
    ) {
        self.name = name
        self.model = model
        self.dimension = dimension
        self.isNormalized = isNormalized
        self.queryPrefix = queryPrefix
        self.documentPrefix = documentPrefix
    }

    /// True when texts are embedded as given, with no prefix of either kind.
    public var hasNoPrefixes: Bool { queryPrefix.isEmpty && documentPrefix.isEmpty }

    /// This identity with other prefixes: the same model, another vector space.
    public func withPrefixes(query: String, document: String) -> EmbedderIdentity {
        var identity = self
        identity.queryPrefix = query
        identity.documentPrefix = document
        return identity
    }

    private enum CodingKeys: String, CodingKey {
        case name, model, dimension, isNormalized, queryPrefix, documentPrefix
    }

    // An identity recorded before prefixes existed has none; one without prefixes is written without the keys,
    // exactly as before, so indexes stay readable both ways and old and new identities compare equal.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        model = try container.decode(String.self, forKey: .model)
        dimension = try container.decode(Int.self, forKey: .dimension)
        isNormalized = try container.decode(Bool.self, forKey: .isNormalized)
        queryPrefix = try container.decodeIfPresent(String.self, forKey: .queryPrefix) ?? ""
        documentPrefix = try container.decodeIfPresent(String.self, forKey: .documentPrefix) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(model, forKey: .model)
        try container.encode(dimension, forKey: .dimension)
        try container.encode(isNormalized, forKey: .isNormalized)
        if !queryPrefix.isEmpty { try container.encode(queryPrefix, forKey: .queryPrefix) }
        if !documentPrefix.isEmpty { try container.encode(documentPrefix, forKey: .documentPrefix) }
    }

    public var description: String {
        "\(name) (model \(model), \(dimension) dimensions\(isNormalized ? ", normalized" : "")\(prefixDescription))"
    }

    /// `, query prefix "query: ", document prefix "passage: "`, or nothing when there are none.
    private var prefixDescription: String {
        guard !hasNoPrefixes else { return "" }
        return ", query prefix \(Self.quoted(queryPrefix)), document prefix \(Self.quoted(documentPrefix))"
    }

    /// A prefix as it would be typed in a shell, quoted so a trailing space (or none) is visible.
    public static func quoted(_ prefix: String) -> String {
        var quoted = "'"
        for character in prefix { quoted += character == "'" ? #"'\''"# : String(character) }
        return quoted + "'"
    }
}

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

    public init(name: String, model: String, dimension: Int, isNormalized: Bool) {
        self.name = name
        self.model = model
        self.dimension = dimension
        self.isNormalized = isNormalized
    }

    public var description: String {
        "\(name) (model \(model), \(dimension) dimensions\(isNormalized ? ", normalized" : ""))"
    }
}

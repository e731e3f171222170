/// The model's `config.json` (Hugging Face `BertConfig`), keys as in the file.
public struct BertConfiguration: Decodable, Sendable, Hashable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var attentionHeadCount: Int
    public var intermediateSize: Int
    public var hiddenActivation: String
    public var maxPositionEmbeddings: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float
    public var positionEmbeddingType: String?

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case layerCount = "num_hidden_layers"
        case attentionHeadCount = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenActivation = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type"
    }

    /// The size of one attention head.
    public var headSize: Int { hiddenSize / attentionHeadCount }

    /// Rejects configurations this implementation does not compute correctly.
    func validate() throws(BertError) {
        guard hiddenSize > 0, layerCount > 0, attentionHeadCount > 0, intermediateSize > 0,
            hiddenSize % attentionHeadCount == 0, hiddenSize % 32 == 0, intermediateSize % 32 == 0,
            maxPositionEmbeddings > 0, typeVocabularySize > 0, vocabularySize > 0
        else { throw BertError(.invalidConfiguration, "config.json has inconsistent sizes.") }
        guard hiddenActivation == "gelu" else {
            throw BertError(.invalidConfiguration, "config.json asks for the activation \(hiddenActivation); only gelu is supported.")
        }
        guard (positionEmbeddingType ?? "absolute") == "absolute" else {
            throw BertError(.invalidConfiguration, "config.json asks for \(positionEmbeddingType ?? "") position embeddings; only absolute is supported.")
        }
    }
}

/// The sentence-transformers pooling configuration (`1_Pooling/config.json`). Missing
/// `pooling_mode_*` keys mean false.
public struct PoolingConfiguration: Decodable, Sendable, Hashable {
    public var dimension: Int
    public var meanTokens: Bool
    public var clsToken: Bool
    public var maxTokens: Bool
    public var meanSqrtLengthTokens: Bool

    enum CodingKeys: String, CodingKey {
        case dimension = "word_embedding_dimension"
        case meanTokens = "pooling_mode_mean_tokens"
        case clsToken = "pooling_mode_cls_token"
        case maxTokens = "pooling_mode_max_tokens"
        case meanSqrtLengthTokens = "pooling_mode_mean_sqrt_len_tokens"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dimension = try container.decode(Int.self, forKey: .dimension)
        meanTokens = try container.decodeIfPresent(Bool.self, forKey: .meanTokens) ?? false
        clsToken = try container.decodeIfPresent(Bool.self, forKey: .clsToken) ?? false
        maxTokens = try container.decodeIfPresent(Bool.self, forKey: .maxTokens) ?? false
        meanSqrtLengthTokens = try container.decodeIfPresent(Bool.self, forKey: .meanSqrtLengthTokens) ?? false
    }

    /// Only masked mean pooling (what all-MiniLM-L6-v2 uses) is implemented.
    func validate(hiddenSize: Int) throws(BertError) {
        guard meanTokens, !clsToken, !maxTokens, !meanSqrtLengthTokens, dimension == hiddenSize else {
            throw BertError(.invalidConfiguration, "1_Pooling/config.json asks for a pooling other than mean pooling.")
        }
    }
}

/// The checkpoint's tensors, named by role.
///
/// All Hugging Face weight names live in the one table below (``Bert/Weights/name(of:)``); nothing
/// else in the target spells a checkpoint key.
extension Bert {
    /// The role of a tensor in the model.
    enum WeightKey: Hashable, Sendable {
        case wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings
        case embeddingsNormWeight, embeddingsNormBias
        case layer(Int, LayerWeight)
    }

    /// The role of a tensor inside one encoder layer.
    enum LayerWeight: Hashable, Sendable, CaseIterable {
        case queryWeight, queryBias, keyWeight, keyBias, valueWeight, valueBias
        case attentionOutputWeight, attentionOutputBias, attentionNormWeight, attentionNormBias
        case intermediateWeight, intermediateBias
        case outputWeight, outputBias, outputNormWeight, outputNormBias
    }

    /// Looks tensors up by role in a safetensors file, checking dtype and shape.
    struct Weights: Sendable {
        /// The single mapping from roles to Hugging Face `BertModel` checkpoint keys.
        static func name(of key: WeightKey) -> String {
            switch key {
            case .wordEmbeddings: "embeddings.word_embeddings.weight"
            case .positionEmbeddings: "embeddings.position_embeddings.weight"
            case .tokenTypeEmbeddings: "embeddings.token_type_embeddings.weight"
            case .embeddingsNormWeight: "embeddings.LayerNorm.weight"
            case .embeddingsNormBias: "embeddings.LayerNorm.bias"
            case .layer(let index, let weight):
                "encoder.layer.\(index)." + layerName(of: weight)
            }
        }

        private static func layerName(of weight: LayerWeight) -> String {
            switch weight {
            case .queryWeight: "attention.self.query.weight"
            case .queryBias: "attention.self.query.bias"
            case .keyWeight: "attention.self.key.weight"
            case .keyBias: "attention.self.key.bias"
            case .valueWeight: "attention.self.value.weight"
            case .valueBias: "attention.self.value.bias"
            case .attentionOutputWeight: "attention.output.dense.weight"
            case .attentionOutputBias: "attention.output.dense.bias"
            case .attentionNormWeight: "attention.output.LayerNorm.weight"
            case .attentionNormBias: "attention.output.LayerNorm.bias"
            case .intermediateWeight: "intermediate.dense.weight"
            case .intermediateBias: "intermediate.dense.bias"
            case .outputWeight: "output.dense.weight"
            case .outputBias: "output.dense.bias"
            case .outputNormWeight: "output.LayerNorm.weight"
            case .outputNormBias: "output.LayerNorm.bias"
            }
        }

        let file: SafetensorsFile

        /// The F32 tensor for `key`, which must have exactly `shape`.
        /// - Throws: ``BertError`` `.invalidWeights` when it is missing or differs.
        func tensor(_ key: WeightKey, shape: [Int]) throws(BertError) -> FloatBuffer {
            let name = Self.name(of: key)
            guard let info = file.tensors[name] else {
                throw BertError(.invalidWeights, "The checkpoint has no tensor \(name).")
            }
            guard info.dtype == .f32, info.shape == shape else {
                throw BertError(
                    .invalidWeights,
                    "The tensor \(name) is \(info.dtype.rawValue) \(info.shape), expected F32 \(shape).")
            }
            let count = shape.reduce(1, *)
            let raw = file.rawPointer(for: info)
            if Int(bitPattern: raw) % MemoryLayout<Float>.alignment == 0 {
                return FloatBuffer(
                    base: raw.assumingMemoryBound(to: Float.self), count: count, shape: shape, owner: file)
            }
            // Misaligned data (legal in the format): copy it into aligned memory.
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: count * 4)) }
            return FloatBuffer(copying: values, shape: shape)
        }
    }
}

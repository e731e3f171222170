extension Bert {
    /// Hugging Face `BertEmbeddings`: word + position + token-type (0) embeddings, then LayerNorm.
    struct Embeddings: Sendable {
        let wordEmbeddings: FloatBuffer
        let positionEmbeddings: FloatBuffer
        let tokenTypeEmbeddings: FloatBuffer
        let normWeight: FloatBuffer
        let normBias: FloatBuffer
        let hiddenSize: Int
        let epsilon: Float

        init(weights: Weights, configuration c: BertConfiguration) throws(BertError) {
            let h = c.hiddenSize
            wordEmbeddings = try weights.tensor(.wordEmbeddings, shape: [c.vocabularySize, h])
            positionEmbeddings = try weights.tensor(.positionEmbeddings, shape: [c.maxPositionEmbeddings, h])
            tokenTypeEmbeddings = try weights.tensor(.tokenTypeEmbeddings, shape: [c.typeVocabularySize, h])
            normWeight = try weights.tensor(.embeddingsNormWeight, shape: [h])
            normBias = try weights.tensor(.embeddingsNormBias, shape: [h])
            hiddenSize = h
            epsilon = c.layerNormEpsilon
        }

        /// Writes the embedded batch to `output` (`tokens × hidden`). Ids must be in the vocabulary
        /// and sequences no longer than the position table (the tokenizer guarantees both).
        func callAsFunction(_ batch: PackedBatch, into output: UnsafeMutablePointer<Float>) {
            let h = hiddenSize
            for sequence in batch.sequences {
                for (position, row) in sequence.enumerated() {
                    let id = Int(batch.ids[row])
                    precondition(id >= 0 && id * h < wordEmbeddings.count, "token id outside the vocabulary")
                    let word = wordEmbeddings.base + id * h
                    let place = positionEmbeddings.base + position * h
                    let type = tokenTypeEmbeddings.base
                    let destination = output + row * h
                    for i in 0..<h { destination[i] = word[i] + place[i] + type[i] }
                }
            }
            Kernels.addLayerNorm(
                output, residual: nil, rows: batch.tokenCount, width: h,
                gamma: normWeight.base, beta: normBias.base, epsilon: epsilon)
        }
    }
}

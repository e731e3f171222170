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
        func callAsFunction(_ batch: PackedBatch, into output: UnsafeMutablePointer<Float>, kernels: Int32) {
            let h = hiddenSize
            let vocabulary = wordEmbeddings.count / h
            let positions = positionEmbeddings.count / h
            batch.ids.withUnsafeBufferPointer { ids in
                for sequence in batch.sequences {
                    // The kernel indexes the tables unchecked, so check here.
                    precondition(sequence.count <= positions, "sequence longer than the position table")
                    for row in sequence {
                        precondition(ids[row] >= 0 && Int(ids[row]) < vocabulary, "token id outside the vocabulary")
                    }
                    Kernels.embeddings(
                        ids.baseAddress! + sequence.lowerBound, count: sequence.count, word: wordEmbeddings.base,
                        position: positionEmbeddings.base, type: tokenTypeEmbeddings.base, gamma: normWeight.base,
                        beta: normBias.base, epsilon: epsilon, width: h, into: output + sequence.lowerBound * h,
                        variant: kernels)
                }
            }
        }
    }
}

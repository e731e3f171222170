extension Bert {
    /// Hugging Face `BertOutput`: dense projection back to the hidden width, residual, LayerNorm.
    struct Output: Sendable {
        let weight: FloatBuffer
        let bias: FloatBuffer
        let normWeight: FloatBuffer
        let normBias: FloatBuffer
        let hiddenSize: Int
        let intermediateSize: Int
        let epsilon: Float

        init(weights: Weights, layer: Int, configuration c: BertConfiguration) throws(BertError) {
            let h = c.hiddenSize
            weight = try weights.tensor(.layer(layer, .outputWeight), shape: [h, c.intermediateSize])
            bias = try weights.tensor(.layer(layer, .outputBias), shape: [h])
            normWeight = try weights.tensor(.layer(layer, .outputNormWeight), shape: [h])
            normBias = try weights.tensor(.layer(layer, .outputNormBias), shape: [h])
            hiddenSize = h
            intermediateSize = c.intermediateSize
            epsilon = c.layerNormEpsilon
        }

        /// `workspace.hidden = LayerNorm(dense(intermediate) + attentionOutput)`.
        func callAsFunction(_ batch: PackedBatch, workspace: Workspace) {
            // Bias, residual and LayerNorm in one pass over the product.
            Kernels.linear(
                workspace.intermediate, rows: batch.tokenCount, inFeatures: intermediateSize,
                weight: weight.base, bias: nil, outFeatures: hiddenSize, into: workspace.hidden,
                variant: workspace.kernels, threads: workspace.threads)
            Kernels.addLayerNorm(
                workspace.hidden, bias: bias.base, residual: workspace.attentionOutput, rows: batch.tokenCount, width: hiddenSize,
                gamma: normWeight.base, beta: normBias.base, epsilon: epsilon, variant: workspace.kernels)
        }
    }
}

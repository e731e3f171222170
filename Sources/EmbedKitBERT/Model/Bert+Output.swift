extension Bert {
    /// Hugging Face `BertOutput`: dense projection back to the hidden width, residual, LayerNorm.
    struct Output: Sendable {
        let dense: Linear
        let bias: FloatBuffer
        let normWeight: FloatBuffer
        let normBias: FloatBuffer
        let hiddenSize: Int
        let intermediateSize: Int
        let epsilon: Float

        init(weights: Weights, layer: Int, configuration c: BertConfiguration, backend: MatrixBackend) throws(BertError) {
            let h = c.hiddenSize
            dense = try Linear(
                weight: weights.tensor(.layer(layer, .outputWeight), shape: [h, c.intermediateSize]), backend: backend)
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
            dense(workspace.intermediate, rows: batch.tokenCount, into: workspace.hidden, workspace: workspace)
            Kernels.addLayerNorm(
                workspace.hidden, bias: bias.base, residual: workspace.attentionOutput, rows: batch.tokenCount, width: hiddenSize,
                gamma: normWeight.base, beta: normBias.base, epsilon: epsilon, variant: workspace.kernels)
        }
    }
}

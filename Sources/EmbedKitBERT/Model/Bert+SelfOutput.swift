extension Bert {
    /// Hugging Face `BertSelfOutput`: dense projection of the attention context, residual, LayerNorm.
    struct SelfOutput: Sendable {
        let dense: Linear
        let bias: FloatBuffer
        let normWeight: FloatBuffer
        let normBias: FloatBuffer
        let hiddenSize: Int
        let epsilon: Float

        init(weights: Weights, layer: Int, configuration c: BertConfiguration, backend: MatrixBackend) throws(BertError) {
            let h = c.hiddenSize
            dense = try Linear(weight: weights.tensor(.layer(layer, .attentionOutputWeight), shape: [h, h]), backend: backend)
            bias = try weights.tensor(.layer(layer, .attentionOutputBias), shape: [h])
            normWeight = try weights.tensor(.layer(layer, .attentionNormWeight), shape: [h])
            normBias = try weights.tensor(.layer(layer, .attentionNormBias), shape: [h])
            hiddenSize = h
            epsilon = c.layerNormEpsilon
        }

        /// `workspace.attentionOutput = LayerNorm(dense(context) + hidden)`.
        func callAsFunction(_ batch: PackedBatch, workspace: Workspace) {
            // Bias, residual and LayerNorm in one pass over the product.
            dense(workspace.context, rows: batch.tokenCount, into: workspace.attentionOutput, workspace: workspace)
            Kernels.addLayerNorm(
                workspace.attentionOutput, bias: bias.base, residual: workspace.hidden, rows: batch.tokenCount, width: hiddenSize,
                gamma: normWeight.base, beta: normBias.base, epsilon: epsilon, variant: workspace.kernels)
        }
    }
}

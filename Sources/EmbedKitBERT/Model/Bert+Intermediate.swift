extension Bert {
    /// Hugging Face `BertIntermediate`: dense projection to the feed-forward width, then exact GELU.
    struct Intermediate: Sendable {
        let dense: Linear
        let bias: FloatBuffer
        let hiddenSize: Int
        let intermediateSize: Int

        init(weights: Weights, layer: Int, configuration c: BertConfiguration, backend: MatrixBackend) throws(BertError) {
            dense = try Linear(
                weight: weights.tensor(.layer(layer, .intermediateWeight), shape: [c.intermediateSize, c.hiddenSize]),
                backend: backend)
            bias = try weights.tensor(.layer(layer, .intermediateBias), shape: [c.intermediateSize])
            hiddenSize = c.hiddenSize
            intermediateSize = c.intermediateSize
        }

        /// `workspace.intermediate = GELU(dense(attentionOutput))`.
        func callAsFunction(_ batch: PackedBatch, workspace: Workspace) {
            // Bias and GELU in one pass over the product.
            dense(workspace.attentionOutput, rows: batch.tokenCount, into: workspace.intermediate, workspace: workspace)
            Kernels.biasGELU(workspace.intermediate, bias: bias.base, rows: batch.tokenCount, width: intermediateSize,
                variant: workspace.kernels)
        }
    }
}

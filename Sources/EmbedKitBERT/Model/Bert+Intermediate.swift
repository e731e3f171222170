extension Bert {
    /// Hugging Face `BertIntermediate`: dense projection to the feed-forward width, then exact GELU.
    struct Intermediate: Sendable {
        let weight: FloatBuffer
        let bias: FloatBuffer
        let hiddenSize: Int
        let intermediateSize: Int

        init(weights: Weights, layer: Int, configuration c: BertConfiguration) throws(BertError) {
            weight = try weights.tensor(.layer(layer, .intermediateWeight), shape: [c.intermediateSize, c.hiddenSize])
            bias = try weights.tensor(.layer(layer, .intermediateBias), shape: [c.intermediateSize])
            hiddenSize = c.hiddenSize
            intermediateSize = c.intermediateSize
        }

        /// `workspace.intermediate = GELU(dense(attentionOutput))`.
        func callAsFunction(_ batch: PackedBatch, workspace: Workspace) {
            // Bias and GELU in one pass over the product.
            Kernels.linear(
                workspace.attentionOutput, rows: batch.tokenCount, inFeatures: hiddenSize,
                weight: weight.base, bias: nil, outFeatures: intermediateSize, into: workspace.intermediate,
                variant: workspace.kernels, threads: workspace.threads)
            Kernels.biasGELU(workspace.intermediate, bias: bias.base, rows: batch.tokenCount, width: intermediateSize,
                variant: workspace.kernels)
        }
    }
}

extension Bert {
    /// Hugging Face `BertLayer`: attention (`BertSelfAttention` + `BertSelfOutput`), then the
    /// feed-forward block (`BertIntermediate` + `BertOutput`). Updates `workspace.hidden` in place.
    struct Layer: Sendable {
        let attention: SelfAttention
        let attentionOutput: SelfOutput
        let intermediate: Intermediate
        let output: Output

        init(weights: Weights, index: Int, configuration: BertConfiguration, backend: MatrixBackend) throws(BertError) {
            attention = try SelfAttention(weights: weights, layer: index, configuration: configuration, backend: backend)
            attentionOutput = try SelfOutput(weights: weights, layer: index, configuration: configuration, backend: backend)
            intermediate = try Intermediate(weights: weights, layer: index, configuration: configuration, backend: backend)
            output = try Output(weights: weights, layer: index, configuration: configuration, backend: backend)
        }

        func callAsFunction(_ batch: PackedBatch, workspace: Workspace) {
            attention(batch, workspace: workspace)
            attentionOutput(batch, workspace: workspace)
            intermediate(batch, workspace: workspace)
            output(batch, workspace: workspace)
        }
    }

    /// Hugging Face `BertEncoder`: the stack of layers.
    struct Encoder: Sendable {
        let layers: [Layer]

        init(weights: Weights, configuration: BertConfiguration, backend: MatrixBackend) throws(BertError) {
            var layers: [Layer] = []
            for index in 0..<configuration.layerCount {
                layers.append(try Layer(weights: weights, index: index, configuration: configuration, backend: backend))
            }
            self.layers = layers
        }

        func callAsFunction(_ batch: PackedBatch, workspace: Workspace) {
            for layer in layers { layer(batch, workspace: workspace) }
        }
    }
}

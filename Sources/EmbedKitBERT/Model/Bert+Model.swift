extension Bert {
    /// The sentence-transformers model: `BertModel` (embeddings + encoder), masked mean pooling,
    /// L2 normalisation. Immutable after loading; forward passes only read it.
    struct Model: Sendable {
        let configuration: BertConfiguration
        let embeddings: Embeddings
        let encoder: Encoder
        /// What runs the linear layers.
        let backend: MatrixBackend
        /// Keeps the memory-mapped checkpoint alive for the weight views.
        let file: SafetensorsFile

        init(file: SafetensorsFile, configuration: BertConfiguration, backend: MatrixBackend) throws(BertError) {
            let weights = Weights(file: file)
            self.configuration = configuration
            self.file = file
            self.backend = backend
            embeddings = try Embeddings(weights: weights, configuration: configuration)
            encoder = try Encoder(weights: weights, configuration: configuration, backend: backend)
        }

        /// Embeds every sequence of `batch` into consecutive rows of `output` (`sequences × hidden`).
        func callAsFunction(_ batch: PackedBatch, workspace: Workspace, into output: UnsafeMutablePointer<Float>) {
            precondition(batch.tokenCount <= workspace.tokenCapacity, "batch larger than the workspace")
            embeddings(batch, into: workspace.hidden, kernels: workspace.kernels)
            encoder(batch, workspace: workspace)
            let h = configuration.hiddenSize
            for (index, sequence) in batch.sequences.enumerated() {
                Kernels.meanPoolNormalized(
                    workspace.hidden + sequence.lowerBound * h, rows: sequence.count, width: h,
                    into: output + index * h, variant: workspace.kernels)
            }
        }
    }
}

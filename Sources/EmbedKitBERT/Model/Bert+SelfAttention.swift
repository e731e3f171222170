extension Bert {
    /// Hugging Face `BertSelfAttention`: multi-head scaled dot-product attention, each sequence over
    /// its own tokens. Query, key and value projections are fused into one matrix multiply.
    struct SelfAttention: Sendable {
        /// `[3·hidden, hidden]`: query rows, then key rows, then value rows, with their bias.
        let queryKeyValue: Linear
        let hiddenSize: Int
        let headCount: Int
        let headSize: Int

        init(weights: Weights, layer: Int, configuration c: BertConfiguration, backend: MatrixBackend) throws(BertError) {
            let h = c.hiddenSize
            let parts: [(LayerWeight, LayerWeight)] = [(.queryWeight, .queryBias), (.keyWeight, .keyBias), (.valueWeight, .valueBias)]
            var matrices: [FloatBuffer] = []
            var biases: [FloatBuffer] = []
            for (weight, bias) in parts {
                matrices.append(try weights.tensor(.layer(layer, weight), shape: [h, h]))
                biases.append(try weights.tensor(.layer(layer, bias), shape: [h]))
            }
            queryKeyValue = try Linear(
                weight: FloatBuffer(concatenatingRows: matrices), bias: FloatBuffer(concatenatingRows: biases),
                backend: backend)
            hiddenSize = h
            headCount = c.attentionHeadCount
            headSize = c.headSize
        }

        /// Reads `workspace.hidden`, writes `workspace.context` (`tokens × hidden`, heads side by side).
        func callAsFunction(_ batch: PackedBatch, workspace: Workspace) {
            let h = hiddenSize
            let stride = 3 * h
            queryKeyValue(workspace.hidden, rows: batch.tokenCount, into: workspace.queryKeyValue, workspace: workspace)
            let scale = 1 / Float(headSize).squareRoot()
            let scores = workspace.scores
            let oneDNN = queryKeyValue.backend != .openBLAS
            for sequence in batch.sequences {
                let n = sequence.count
                // Depends on the sequence alone, so that a text gets the same vector in any pass.
                let oneDNNThreads = oneDNN && n >= Kernels.oneDNNAttentionRows ? workspace.matrixThreads : nil
                let rows = workspace.queryKeyValue + sequence.lowerBound * stride
                for head in 0..<headCount {
                    let query = rows + head * headSize
                    let key = rows + h + head * headSize
                    let value = rows + 2 * h + head * headSize
                    Kernels.multiplyTransposed(
                        query, lda: stride, key, ldb: stride, m: n, n: n, k: headSize, alpha: scale,
                        into: scores, ldc: n, oneDNNThreads: oneDNNThreads)
                    Kernels.softmaxRows(scores, rows: n, columns: n, stride: n, variant: workspace.kernels)
                    Kernels.multiply(
                        scores, lda: n, value, ldb: stride, m: n, n: headSize, k: n,
                        into: workspace.context + sequence.lowerBound * h + head * headSize, ldc: h,
                        oneDNNThreads: oneDNNThreads)
                }
            }
        }
    }
}

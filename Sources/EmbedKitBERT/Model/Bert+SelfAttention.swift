extension Bert {
    /// Hugging Face `BertSelfAttention`: multi-head scaled dot-product attention, each sequence over
    /// its own tokens. Query, key and value projections are fused into one matrix multiply.
    struct SelfAttention: Sendable {
        /// `[3·hidden, hidden]`: query rows, then key rows, then value rows.
        let queryKeyValueWeight: FloatBuffer
        let queryKeyValueBias: FloatBuffer
        let hiddenSize: Int
        let headCount: Int
        let headSize: Int

        init(weights: Weights, layer: Int, configuration c: BertConfiguration) throws(BertError) {
            let h = c.hiddenSize
            let parts: [(LayerWeight, LayerWeight)] = [(.queryWeight, .queryBias), (.keyWeight, .keyBias), (.valueWeight, .valueBias)]
            var matrices: [FloatBuffer] = []
            var biases: [FloatBuffer] = []
            for (weight, bias) in parts {
                matrices.append(try weights.tensor(.layer(layer, weight), shape: [h, h]))
                biases.append(try weights.tensor(.layer(layer, bias), shape: [h]))
            }
            queryKeyValueWeight = FloatBuffer(concatenatingRows: matrices)
            queryKeyValueBias = FloatBuffer(concatenatingRows: biases)
            hiddenSize = h
            headCount = c.attentionHeadCount
            headSize = c.headSize
        }

        /// Reads `workspace.hidden`, writes `workspace.context` (`tokens × hidden`, heads side by side).
        func callAsFunction(_ batch: PackedBatch, workspace: Workspace) {
            let h = hiddenSize
            let stride = 3 * h
            Kernels.linear(
                workspace.hidden, rows: batch.tokenCount, inFeatures: h,
                weight: queryKeyValueWeight.base, bias: queryKeyValueBias.base, outFeatures: stride,
                into: workspace.queryKeyValue, variant: workspace.kernels, threads: workspace.threads)
            let scale = 1 / Float(headSize).squareRoot()
            let scores = workspace.scores
            for sequence in batch.sequences {
                let n = sequence.count
                let rows = workspace.queryKeyValue + sequence.lowerBound * stride
                for head in 0..<headCount {
                    let query = rows + head * headSize
                    let key = rows + h + head * headSize
                    let value = rows + 2 * h + head * headSize
                    Kernels.multiplyTransposed(
                        query, lda: stride, key, ldb: stride, m: n, n: n, k: headSize, alpha: scale,
                        into: scores, ldc: n)
                    Kernels.softmaxRows(scores, rows: n, columns: n, stride: n, variant: workspace.kernels)
                    Kernels.multiply(
                        scores, lda: n, value, ldb: stride, m: n, n: headSize, k: n,
                        into: workspace.context + sequence.lowerBound * h + head * headSize, ldc: h)
                }
            }
        }
    }
}

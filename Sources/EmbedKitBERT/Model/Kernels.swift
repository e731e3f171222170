internal import CEmbedBLAS
internal import CEmbedKernels
internal import CEmbedMatmul
private import Dispatch

/// The numeric building blocks of the forward pass: matrix multiplies through OpenBLAS, element-wise
/// work in the C kernels of CEmbedKernels, compiled per instruction set and picked at run time.
enum Kernels {
    // MARK: - Matrix multiplication

    /// Token counts up to which a linear layer multiplies in CEmbedKernels instead of OpenBLAS. BLAS copies
    /// the whole weight matrix into its packed layout on every call, whatever the row count, which is most
    /// of a short query's time; the row kernel reads each weight once in place. From 32 rows on BLAS is as fast
    /// or faster (docs/decisions.md, D64).
    static let fewRows = 32

    /// `output[rows × outFeatures] = input[rows × inFeatures] · weightᵀ (+ bias)`, with the weight in
    /// PyTorch `Linear` layout `[outFeatures, inFeatures]`, all row-major. Up to ``fewRows`` rows run on the
    /// row kernel of `variant`, split over `threads` threads by output column; more rows run on OpenBLAS.
    static func linear(
        _ input: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into output: UnsafeMutablePointer<Float>, variant: Int32 = variant, threads: Int = 1
    ) {
        if let bias {
            // Start from the bias in every row, then accumulate the product.
            for row in 0..<rows {
                (output + row * outFeatures).update(from: bias, count: outFeatures)
            }
        }
        guard rows <= fewRows, inFeatures % 16 == 0 else {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
                1, input, Int32(inFeatures), weight, Int32(inFeatures), bias == nil ? 0 : 1, output,
                Int32(outFeatures))
            return
        }
        let accumulate: Int32 = bias == nil ? 0 : 1
        let parts = max(1, min(threads, outFeatures / 64))
        guard parts > 1 else {
            embed_k_matmul_bt(variant, input, rows, inFeatures, weight, outFeatures, output, outFeatures, accumulate)
            return
        }
        // Column ranges in multiples of 4 (the kernel's block), the last taking the rest. The parts read the
        // same input and weight and write disjoint columns of the output.
        nonisolated(unsafe) let input = input, weight = weight, output = output
        let share = (outFeatures / parts + 3) / 4 * 4
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let first = part * share
            let count = part == parts - 1 ? outFeatures - first : min(share, outFeatures - first)
            guard count > 0 else { return }
            embed_k_matmul_bt(
                variant, input, rows, inFeatures, weight + first * inFeatures, count, output + first, outFeatures,
                accumulate)
        }
    }

    /// Sequence lengths from which attention's products run on oneDNN's sgemm when the model's linear layers do:
    /// 1.2x to 1.6x OpenBLAS's from 64 tokens on an AVX-512 CPU, a draw or worse below (D66).
    static let oneDNNAttentionRows = 64

    /// `c[m × n] = alpha · a[m × k] · bᵀ` where `b` is `[n × k]`; leading dimensions given. On oneDNN when
    /// `oneDNNThreads` is given (the caller checked it is available), else OpenBLAS.
    static func multiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        m: Int, n: Int, k: Int, alpha: Float, into c: UnsafeMutablePointer<Float>, ldc: Int, oneDNNThreads: Int? = nil
    ) {
        if let threads = oneDNNThreads,
            embed_matmul_sgemm(1, m, n, k, alpha, a, lda, b, ldb, c, ldc, Int32(threads)) == 0
        {
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// `c[m × n] = a[m × k] · b[k × n]`; leading dimensions given. On oneDNN when `oneDNNThreads` is given.
    static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Float>, ldc: Int, oneDNNThreads: Int? = nil
    ) {
        if let threads = oneDNNThreads, embed_matmul_sgemm(0, m, n, k, 1, a, lda, b, ldb, c, ldc, Int32(threads)) == 0 {
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
            1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    // MARK: - Element-wise (CEmbedKernels, dispatched on the CPU)

    /// The kernel variant for this CPU: AVX-512F, else AVX2+FMA, else portable.
    static let variant: Int32 = embed_kernels_best()

    /// The variants this CPU can run (for tests and the benchmark).
    static var availableVariants: [Int32] {
        [Int32(EMBED_KERNELS_PORTABLE), Int32(EMBED_KERNELS_AVX2), Int32(EMBED_KERNELS_AVX512)]
            .filter { embed_kernels_available($0) != 0 }
    }

    static func name(of variant: Int32) -> String { String(cString: embed_kernels_name(variant)) }

    /// `x = LayerNorm(x + bias + residual) · gamma + beta` over rows of `width` values (`bias` and
    /// `residual` may be nil). `width` must be a multiple of 32.
    static func addLayerNorm(
        _ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>?,
        rows: Int, width: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float,
        variant: Int32 = variant
    ) {
        embed_k_add_layer_norm(variant, x, bias, residual, rows, width, gamma, beta, epsilon)
    }

    /// Exact (erf) GELU of `x + bias` in place, over rows of `width` values (a multiple of 32).
    static func biasGELU(
        _ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, width: Int, variant: Int32 = variant
    ) {
        embed_k_bias_gelu(variant, x, bias, rows, width)
    }

    /// Softmax of each row of `rows × columns` values (row stride `stride`), in place.
    static func softmaxRows(
        _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride: Int, variant: Int32 = variant
    ) {
        embed_k_softmax_rows(variant, x, rows, columns, stride)
    }

    /// The mean of `rows` rows of `width` values (a multiple of 16), scaled to unit L2 norm, into `output`.
    static func meanPoolNormalized(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, into output: UnsafeMutablePointer<Float>,
        variant: Int32 = variant
    ) {
        embed_k_mean_pool_normalized(variant, x, rows, width, output)
    }

    /// One sequence's embeddings: `LayerNorm(word[id] + position[i] + type) · gamma + beta` per token.
    static func embeddings(
        _ ids: UnsafePointer<Int32>, count: Int, word: UnsafePointer<Float>, position: UnsafePointer<Float>,
        type: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float,
        width: Int, into output: UnsafeMutablePointer<Float>, variant: Int32 = variant
    ) {
        embed_k_embeddings(variant, ids, count, word, position, type, gamma, beta, epsilon, width, output)
    }

    /// eˣ for x ≤ 0, as softmax and GELU compute it (for tests).
    static func expNonPositive(_ x: [Float], variant: Int32 = variant) -> [Float] {
        var output = [Float](repeating: 0, count: x.count)
        output.withUnsafeMutableBufferPointer { embed_k_exp_nonpositive(variant, x, $0.baseAddress!, x.count) }
        return output
    }
}

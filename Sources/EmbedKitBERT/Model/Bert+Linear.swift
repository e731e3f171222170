internal import CEmbedMatmul

extension Bert {
    /// The library and precision that run the model's linear layers, settled once at load.
    enum MatrixBackend: Sendable, Hashable {
        /// OpenBLAS `sgemm`, and the row kernel for short passes: every CPU.
        case openBLAS
        /// oneDNN in fp32: CPUs with AVX-512, where Debian's OpenBLAS may run AVX2 kernels (docs/decisions.md, D66).
        case oneDNN
        /// oneDNN with bf16 weights and inputs, fp32 accumulation and outputs: CPUs with AVX512_BF16.
        case bf16
        /// int8's rounding simulated in fp32 (per-channel weights, per-row inputs): how int8 was measured against
        /// the quality gate, which it fails, so it is never picked but by name (matrix library "int8-simulated").
        case int8Simulated

        /// The fastest fp32 backend this CPU has.
        static var bestFP32: MatrixBackend { isAvailable(.oneDNN) ? .oneDNN : .openBLAS }

        static func isAvailable(_ backend: MatrixBackend) -> Bool {
            switch backend {
            case .openBLAS: true
            case .oneDNN, .int8Simulated: embed_matmul_available(Int32(EMBED_MATMUL_F32)) != 0
            case .bf16: embed_matmul_available(Int32(EMBED_MATMUL_BF16)) != 0
            }
        }

        var name: String {
            switch self {
            case .openBLAS: "openblas"
            case .oneDNN: "onednn"
            case .bf16: "onednn-bf16"
            case .int8Simulated: "int8-simulated"
            }
        }

        /// oneDNN's instruction set on this CPU ("avx512_core_bf16", ...), for reports.
        static var oneDNNInstructionSet: String { String(cString: embed_matmul_isa()) }
    }

    /// A weight matrix prepared by oneDNN for one shape and precision. Immutable; oneDNN runs one primitive from
    /// many threads at once.
    final class PreparedMatmul: @unchecked Sendable {
        let pointer: OpaquePointer
        /// fp32 keeps pointers to both: held here so that they live as long as the primitive.
        private let weight: FloatBuffer
        private let bias: FloatBuffer?

        init(backend: MatrixBackend, weight: FloatBuffer, bias: FloatBuffer?) throws(BertError) {
            self.weight = weight
            self.bias = bias
            let precision: Int32 =
                switch backend {
                case .bf16: Int32(EMBED_MATMUL_BF16)
                case .int8Simulated: Int32(EMBED_MATMUL_INT8_SIMULATED)
                case .openBLAS, .oneDNN: Int32(EMBED_MATMUL_F32)
                }
            var message = [CChar](repeating: 0, count: 256)
            let made = embed_matmul_create(
                precision, weight.base, weight.shape[0], weight.shape[1], bias?.base, &message, message.count)
            guard let made else {
                let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw BertError(.unsupportedPrecision, "oneDNN cannot run the \(backend.name) linear layers: \(reason).")
            }
            pointer = made
        }

        deinit { embed_matmul_destroy(pointer) }

        func scratchBytes(rows: Int) -> Int { embed_matmul_scratch_bytes(pointer, rows) }

        /// `false` when oneDNN failed (the caller then multiplies another way).
        func run(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                 scratch: UnsafeMutableRawPointer?, threads: Int) -> Bool {
            embed_matmul_run(pointer, input, rows, output, scratch, Int32(threads)) == 0
        }
    }

    /// A dense layer's product `output = input · weightᵀ (+ bias)`, the weight in PyTorch `Linear` layout
    /// `[outFeatures, inFeatures]`. `bias` is added by the product only where nothing element-wise follows it
    /// (the fused Q/K/V projection); elsewhere the next kernel adds it in its own pass.
    struct Linear: Sendable {
        let weight: FloatBuffer
        let bias: FloatBuffer?
        let prepared: PreparedMatmul?
        let backend: MatrixBackend

        init(weight: FloatBuffer, bias: FloatBuffer? = nil, backend: MatrixBackend) throws(BertError) {
            self.weight = weight
            self.bias = bias
            self.backend = backend
            prepared = backend == .openBLAS ? nil : try PreparedMatmul(backend: backend, weight: weight, bias: bias)
        }

        var inFeatures: Int { weight.shape[1] }
        var outFeatures: Int { weight.shape[0] }

        func callAsFunction(
            _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, workspace: Workspace
        ) {
            // Reduced precision runs every pass so, so that a text's vector does not depend on the pass it was in.
            // fp32 passes of a few rows go to the row kernel, which reads the weights once in place (D64).
            if let prepared, backend == .bf16 || backend == .int8Simulated || rows > Kernels.fewRows {
                let threads = rows > Kernels.fewRows ? workspace.matrixThreads : workspace.threads
                if prepared.run(input, rows: rows, into: output, scratch: workspace.matrixScratch, threads: threads) {
                    return
                }
                // oneDNN failed (out of memory): the same product in fp32 on OpenBLAS.
            }
            Kernels.linear(
                input, rows: rows, inFeatures: inFeatures, weight: weight.base, bias: bias?.base,
                outFeatures: outFeatures, into: output, variant: workspace.kernels, threads: workspace.threads)
        }
    }
}

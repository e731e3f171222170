extension Bert {
    /// Scratch memory for one forward pass of up to `tokenCapacity` tokens, reused across passes.
    ///
    /// `@unchecked Sendable`: a workspace is used by one task at a time; ``BertEmbedder`` hands
    /// workspaces out and takes them back through a locked pool.
    final class Workspace: @unchecked Sendable {
        let tokenCapacity: Int
        let maxSequenceLength: Int
        /// The element-wise kernel variant (a `CEmbedKernels` constant) this pass runs.
        let kernels: Int32
        /// Threads the linear layers of a short pass may split over (``Kernels/fewRows``); set per pass.
        var threads = 1
        /// Threads oneDNN runs a longer pass's products on (the configuration's `blasThreads`).
        let matrixThreads: Int
        /// The reduced-precision copy of a product's input (bf16 and int8-simulated backends; nil otherwise).
        let matrixScratch: UnsafeMutableRawPointer?
        /// Hidden states, `tokens × hidden`.
        let hidden: UnsafeMutablePointer<Float>
        /// Fused query/key/value projections, `tokens × 3·hidden`.
        let queryKeyValue: UnsafeMutablePointer<Float>
        /// Attention context, `tokens × hidden`.
        let context: UnsafeMutablePointer<Float>
        /// The attention block's output, `tokens × hidden`.
        let attentionOutput: UnsafeMutablePointer<Float>
        /// The feed-forward activations, `tokens × intermediate`.
        let intermediate: UnsafeMutablePointer<Float>
        /// One head's attention scores, `sequence × sequence`.
        let scores: UnsafeMutablePointer<Float>

        private let storage: UnsafeMutablePointer<Float>

        init(
            tokenCapacity: Int, maxSequenceLength: Int, configuration: BertConfiguration, kernels: Int32,
            backend: MatrixBackend, matrixThreads: Int
        ) {
            self.tokenCapacity = tokenCapacity
            self.kernels = kernels
            self.matrixThreads = matrixThreads
            // A copy of the widest product's input (hidden or feed-forward width): bf16, or int8-rounded floats.
            let bytesPerValue = backend == .bf16 ? 2 : backend == .int8Simulated ? 4 : 0
            let widest = max(configuration.hiddenSize, configuration.intermediateSize)
            matrixScratch =
                bytesPerValue > 0
                ? .allocate(byteCount: tokenCapacity * widest * bytesPerValue, alignment: 64)
                : nil
            self.maxSequenceLength = maxSequenceLength
            let h = configuration.hiddenSize
            let sizes = [
                tokenCapacity * h, tokenCapacity * 3 * h, tokenCapacity * h, tokenCapacity * h,
                tokenCapacity * configuration.intermediateSize, maxSequenceLength * maxSequenceLength,
            ]
            // One allocation, each part starting on a 64-byte boundary.
            let padded = sizes.map { ($0 + 15) / 16 * 16 }
            storage = .allocate(capacity: padded.reduce(0, +))
            storage.initialize(repeating: 0, count: padded.reduce(0, +))
            var offsets: [Int] = []
            var offset = 0
            for size in padded {
                offsets.append(offset)
                offset += size
            }
            hidden = storage + offsets[0]
            queryKeyValue = storage + offsets[1]
            context = storage + offsets[2]
            attentionOutput = storage + offsets[3]
            intermediate = storage + offsets[4]
            scores = storage + offsets[5]
        }

        deinit {
            storage.deallocate()
            matrixScratch?.deallocate()
        }
    }
}

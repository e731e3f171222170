internal import CEmbedBLAS
public import EmbedKit
public import Foundation

/// The native all-MiniLM-L6-v2 embedder: WordPiece tokenizer, 6-layer BERT forward pass on oneDNN (AVX-512) or
/// OpenBLAS, mean pooling, L2 normalisation. Matches sentence-transformers (cosine ≥ 0.9999).
///
/// Weights are memory-mapped and immutable, so one embedder serves many concurrent calls. Each call
/// sorts its texts by length, packs them into passes of at most
/// ``Configuration-swift.struct/maxTokensPerPass`` tokens (no padding), and runs up to
/// ``Configuration-swift.struct/maxConcurrentPasses`` passes at once, each on one core with
/// single-threaded BLAS, reusing pooled scratch buffers. That bound holds across concurrent calls too.
public final class BertEmbedder: Embedder {
    /// The arithmetic of the linear layers (``ModelPrecision``): bf16 about doubles the speed where the CPU has
    /// AVX512_BF16 and is refused elsewhere; its vectors stay within cosine 0.9999 of fp32's (docs/decisions.md, D66).
    public typealias Precision = ModelPrecision

    /// Performance settings.
    public struct Configuration: Sendable, Hashable {
        /// Forward passes run at once, across all concurrent calls. Default: the number of active cores
        /// divided by `blasThreads`, so BLAS threads × passes never exceed the cores.
        public var maxConcurrentPasses: Int
        /// Threads per pass for its matrix products: OpenBLAS's (a process-wide setting, applied at load) and
        /// oneDNN's (set on each call). Default 1.
        public var blasThreads: Int
        /// Tokens per forward pass, bounding scratch memory (about 17 KB per token). Default 2048.
        public var maxTokensPerPass: Int
        /// The batch size the pipeline should send (``BertEmbedder/maxBatchSize``). Default 64.
        public var maxBatchSize: Int
        /// The element-wise kernels to run ("portable", "avx2", "avx512f"); nil or one this CPU cannot
        /// run means the best it can (``BertEmbedder/kernelVariant`` tells which ran). For tests and benchmarks.
        public var kernels: String?
        /// The linear layers' arithmetic. Default fp32.
        public var precision: Precision
        /// The library for fp32 linear layers ("openblas", "onednn"; "int8-simulated" measures int8's rounding and
        /// is not for use); nil or one this CPU cannot run means the faster one it has
        /// (``BertEmbedder/matrixLibrary`` tells which ran). For tests and benchmarks.
        public var matrixLibrary: String?

        public init(
            maxConcurrentPasses: Int? = nil, blasThreads: Int = 1, maxTokensPerPass: Int = 2048,
            maxBatchSize: Int = 64, kernels: String? = nil, precision: Precision = .fp32, matrixLibrary: String? = nil
        ) {
            self.kernels = kernels
            self.precision = precision
            self.matrixLibrary = matrixLibrary
            let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
            self.blasThreads = max(1, blasThreads)
            self.maxConcurrentPasses = max(1, min(maxConcurrentPasses ?? cores, cores / self.blasThreads))
            self.maxTokensPerPass = max(maxTokensPerPass, BertEmbedder.maxSequenceLength)
            self.maxBatchSize = max(1, maxBatchSize)
        }
    }

    /// The element-wise kernels this embedder runs: "avx512f", "avx2" or "portable" (by default the best
    /// the CPU has, checked at run time).
    public var kernelVariant: String { Kernels.name(of: kernels) }

    /// What runs the linear layers: "openblas", "onednn" (fp32) or "onednn-bf16".
    public var matrixLibrary: String { model.backend.name }

    /// oneDNN's instruction set on this CPU ("avx512_core_bf16", "avx2", ...), for reports.
    public static var oneDNNInstructionSet: String { Bert.MatrixBackend.oneDNNInstructionSet }

    /// The precisions this CPU runs: fp32 always, bf16 with AVX512_BF16.
    public static var availablePrecisions: [Precision] {
        Bert.MatrixBackend.isAvailable(.bf16) ? [.fp32, .bf16] : [.fp32]
    }

    /// Model input length, `[CLS]` and `[SEP]` included (sentence-transformers' `max_seq_length`).
    public static let maxSequenceLength = 256

    /// The same for both precisions: bf16's vectors are within the parity bound of fp32's.
    public let identity = EmbedderIdentity(
        name: "minilm", model: "sentence-transformers/all-MiniLM-L6-v2", dimension: 384, isNormalized: true)
    public var maxBatchSize: Int { configuration.maxBatchSize }
    public var tokenCounter: any TokenCounter { tokenizer }
    /// 254: the model's 256 positions minus `[CLS]` and `[SEP]`; longer inputs are truncated.
    public var maxInputTokens: Int? { Self.maxSequenceLength - 2 }

    /// The WordPiece tokenizer (its ids are public for tests and tools).
    public let tokenizer: WordPieceTokenizer
    /// The settings in use.
    public let configuration: Configuration
    /// Where the model was loaded from.
    public let modelDirectory: URL

    private let model: Bert.Model
    private let kernels: Int32
    private let workspaces = Locked<[Bert.Workspace]>([])
    /// Bounds passes across concurrent calls (the pipeline makes several), keeping BLAS threads × passes
    /// within the cores.
    /// At most `maxConcurrentPasses` forward passes across all `embed` calls: the ingest pipeline runs several
    /// calls at once, and calls × passes × BLAS threads must not exceed the cores.
    private let limiter: AsyncLimiter

    private init(model: Bert.Model, tokenizer: WordPieceTokenizer, modelDirectory: URL, configuration: Configuration) {
        self.model = model
        self.tokenizer = tokenizer
        self.modelDirectory = modelDirectory
        self.configuration = configuration
        limiter = AsyncLimiter(limit: configuration.maxConcurrentPasses)
        kernels = Kernels.availableVariants.first { Kernels.name(of: $0) == configuration.kernels } ?? Kernels.variant
    }

    /// Loads the model from `modelDirectory`, or from the first of
    /// ``Bert/modelLocations(explicit:environment:currentDirectory:executable:systemDataDirectories:)`` that
    /// exists when nil. Nothing is downloaded.
    /// - Throws: `EmbeddingError(.modelUnavailable, …)` listing every place looked at when the model is not
    ///   found, or naming `scripts/fetch-model.sh` when it is damaged.
    public static func load(
        modelDirectory: URL? = nil, configuration: Configuration = Configuration()
    ) throws(EmbeddingError) -> BertEmbedder {
        let locations = Bert.modelLocations(explicit: modelDirectory)
        guard let directory = Bert.firstModelDirectory(in: locations) else {
            throw EmbeddingError(.modelUnavailable, Bert.notFoundMessage(locations))
        }
        guard availablePrecisions.contains(configuration.precision) else {
            throw EmbeddingError(
                .modelUnavailable,
                "all-MiniLM-L6-v2 in \(configuration.precision.rawValue) needs a CPU with AVX512_BF16 that oneDNN can use, "
                    + "and oneDNN runs \(oneDNNInstructionSet) here. Leave out --precision (fp32) on this machine.")
        }
        do {
            let embedder = try load(directory: directory, configuration: configuration)
            openblas_set_num_threads(Int32(configuration.blasThreads))
            return embedder
        } catch where error.code == .unsupportedPrecision {
            throw EmbeddingError(.modelUnavailable, "\(error.message) Leave out --precision (fp32) on this machine.")
        } catch {
            throw EmbeddingError(
                .modelUnavailable,
                "The all-MiniLM-L6-v2 model in \(directory.path) is missing or damaged (\(error.message)) "
                    + "Run \(Bert.fetchCommand) to fetch it again.")
        }
    }

    private static func load(directory: URL, configuration: Configuration) throws(BertError) -> BertEmbedder {
        func decode<T: Decodable>(_ type: T.Type, _ name: String) throws(BertError) -> T {
            let url = directory.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url) else {
                throw BertError(.fileUnreadable, "cannot read \(name).")
            }
            do {
                return try JSONDecoder().decode(type, from: data)
            } catch {
                throw BertError(.invalidConfiguration, "\(name) is malformed.")
            }
        }
        let bertConfiguration = try decode(BertConfiguration.self, "config.json")
        try bertConfiguration.validate()
        let pooling = try decode(PoolingConfiguration.self, "1_Pooling/config.json")
        try pooling.validate(hiddenSize: bertConfiguration.hiddenSize)
        guard bertConfiguration.hiddenSize == 384, bertConfiguration.maxPositionEmbeddings >= maxSequenceLength else {
            throw BertError(.invalidConfiguration, "config.json does not describe all-MiniLM-L6-v2.")
        }
        let tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"))
        guard tokenizer.vocabularySize == bertConfiguration.vocabularySize else {
            throw BertError(.invalidVocabulary, "vocab.txt has \(tokenizer.vocabularySize) tokens, config.json says \(bertConfiguration.vocabularySize).")
        }
        let file = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        let backend: Bert.MatrixBackend =
            switch (configuration.precision, configuration.matrixLibrary) {
            case (.bf16, _): .bf16
            case (.fp32, "openblas"): .openBLAS
            case (.fp32, "int8-simulated") where Bert.MatrixBackend.isAvailable(.int8Simulated): .int8Simulated
            case (.fp32, _): Bert.MatrixBackend.bestFP32
            }
        let model: Bert.Model
        do {
            model = try Bert.Model(file: file, configuration: bertConfiguration, backend: backend)
        } catch where error.code == .unsupportedPrecision && backend == .oneDNN {
            // oneDNN refused an fp32 product it said it runs: OpenBLAS runs every CPU.
            model = try Bert.Model(file: file, configuration: bertConfiguration, backend: .openBLAS)
        }
        return BertEmbedder(model: model, tokenizer: tokenizer, modelDirectory: directory, configuration: configuration)
    }

    /// The model input ids of `text`: `[CLS]`, at most 254 token ids, `[SEP]`.
    public func inputIDs(_ text: some StringProtocol) -> [Int32] {
        tokenizer.encode(text, maxLength: Self.maxSequenceLength)
    }

    /// Embeds `texts` (any number); inputs longer than ``maxInputTokens`` are truncated, as
    /// sentence-transformers does. Runs on the global concurrent executor, never on the caller's actor.
    @concurrent
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        if texts.isEmpty { return [] }
        let inputs = texts.map { inputIDs($0) }
        let passes = plan(inputs)
        let dimension = identity.dimension
        var vectors = [[Float]](repeating: [], count: texts.count)
        let perPass = try await passes.boundedConcurrentMap(maxConcurrentTasks: configuration.maxConcurrentPasses) { pass in
            await self.limiter.run { self.run(pass) }
        }
        for results in perPass {
            for (index, vector) in results { vectors[index] = vector }
        }
        try EmbeddingError.validate(vectors, count: texts.count, dimension: dimension, source: "minilm")
        return vectors
    }

    /// One forward pass: the texts' original indices and their packed ids.
    struct Pass: Sendable {
        var indices: [Int] = []
        var batch = Bert.PackedBatch()
    }

    /// Sorts inputs by length and cuts them into passes of similar lengths, sized so that every
    /// allowed concurrent pass gets work and none exceeds `maxTokensPerPass`.
    func plan(_ inputs: [[Int32]]) -> [Pass] {
        let order = inputs.indices.sorted { inputs[$0].count > inputs[$1].count }
        let total = inputs.reduce(0) { $0 + $1.count }
        let share = (total + configuration.maxConcurrentPasses - 1) / configuration.maxConcurrentPasses
        let budget = min(configuration.maxTokensPerPass, max(share, 1))
        var passes: [Pass] = []
        var current = Pass()
        for index in order {
            let length = inputs[index].count
            if !current.indices.isEmpty, current.batch.tokenCount + length > budget {
                passes.append(current)
                current = Pass()
            }
            current.indices.append(index)
            current.batch.append(inputs[index])
        }
        if !current.indices.isEmpty { passes.append(current) }
        return passes
    }

    /// Runs one pass with a pooled workspace, holding a slot of the limiter. A short pass (a query) also
    /// takes a second slot when one is free and splits its linear layers over two cores: alone, it would
    /// leave the other idle while its caller waits.
    private func run(_ pass: Pass) -> [(Int, [Float])] {
        guard pass.batch.tokenCount <= Kernels.fewRows, configuration.maxConcurrentPasses > 1 else {
            return run(pass, threads: 1)
        }
        return limiter.withSpareSlotIfFree { spare in run(pass, threads: spare ? 2 : 1) }
    }

    private func run(_ pass: Pass, threads: Int) -> [(Int, [Float])] {
        let workspace = workspaces.withLock { $0.popLast() } ?? makeWorkspace()
        defer { workspaces.withLock { $0.append(workspace) } }
        workspace.threads = threads
        let h = identity.dimension
        var output = [Float](repeating: 0, count: pass.indices.count * h)
        output.withUnsafeMutableBufferPointer { buffer in
            model(pass.batch, workspace: workspace, into: buffer.baseAddress!)
        }
        return pass.indices.enumerated().map { offset, index in
            (index, Array(output[(offset * h)..<((offset + 1) * h)]))
        }
    }

    private func makeWorkspace() -> Bert.Workspace {
        Bert.Workspace(
            tokenCapacity: configuration.maxTokensPerPass, maxSequenceLength: Self.maxSequenceLength,
            configuration: model.configuration, kernels: kernels, backend: model.backend,
            matrixThreads: configuration.blasThreads)
    }
}

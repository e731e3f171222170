/// One `ingest` or `reindex` of an index: open it, resolve the embedder and the chunking against its recipe,
/// run the pipeline, and with `reembed` swap the rebuilt index in. What `embed ingest`, `embed reindex` and the
/// jobs of `embed serve` run; the callers only choose how to show what it reports.
public struct IngestJob: Sendable {
    public var db: String
    /// The folders and files to ingest; nil to walk again those the index records (reindex).
    public var roots: [IngestRoot]?
    public var embedder: EmbedderRequest
    public var chunking: ChunkingRequest
    public var pipeline: IngestPipeline.Configuration
    /// Build the whole index again with the embedder and chunking asked for now.
    public var reembed: Bool
    /// Wait for another writer instead of failing with ``StoreError`` `.locked`.
    public var wait: Bool
    public var keywordIndexUpkeep: KeywordIndexUpkeep
    /// Whether the vector file carries int8 codes from now on; nil keeps the index's own (see ``VectorQuantization``).
    public var quantization: VectorQuantization?
    /// The part of the tree to take (`--shard`), for every root walked; nil keeps each recorded root's own and
    /// takes all of a new root.
    public var shard: IngestShard?

    public init(
        db: String, roots: [IngestRoot]?, embedder: EmbedderRequest = .init(), chunking: ChunkingRequest = .init(),
        pipeline: IngestPipeline.Configuration = .init(), reembed: Bool = false, wait: Bool = false,
        keywordIndexUpkeep: KeywordIndexUpkeep = .repairIfNeeded, quantization: VectorQuantization? = nil,
        shard: IngestShard? = nil
    ) {
        self.db = db
        self.roots = roots
        self.embedder = embedder
        self.chunking = chunking
        self.pipeline = pipeline
        self.reembed = reembed
        self.wait = wait
        self.keywordIndexUpkeep = keywordIndexUpkeep
        self.quantization = quantization
        self.shard = shard
    }

    /// What the job tells as it goes.
    public struct Events: Sendable {
        /// A problem that does not stop the job (chunks longer than the model reads, a vector file not written).
        public var warning: @Sendable (String) -> Void
        /// The set-up is done and the pipeline starts: from here on, a stop keeps what was finished.
        public var started: @Sendable () -> Void
        public var keywordIndexProgress: KeywordIndexProgress?
        public var pipeline: IngestPipeline.Observer

        public init(
            warning: @escaping @Sendable (String) -> Void = { _ in }, started: @escaping @Sendable () -> Void = {},
            keywordIndexProgress: KeywordIndexProgress? = nil, pipeline: IngestPipeline.Observer = .init()
        ) {
            self.warning = warning
            self.started = started
            self.keywordIndexProgress = keywordIndexProgress
            self.pipeline = pipeline
        }
    }

    /// Runs the job.
    /// - Parameter makeEmbedder: builds the resolved embedder (for documents); `embed serve` passes its own
    ///   model's batcher.
    /// - Throws: ``StoreError`` (the index), ``UsageError`` (options that do not fit the index or the model),
    ///   the embedder's errors when it cannot be built or stops the run.
    public func run(
        events: Events = .init(), makeEmbedder: @Sendable (ResolvedEmbedder) async throws -> any Embedder
    ) async throws -> IngestReport {
        // Open: an existing index is locked before its recipe is read; a new one only once the embedder and the
        // options are known to be good (`writableStore`), so that a refused run leaves no file behind.
        let access: EmbeddingIndex.Access =
            pipeline.dryRun ? .dryRun : roots == nil ? .write(wait: wait) : .writeOrCreate(wait: wait)
        let index = try await EmbeddingIndex.open(db, for: access)
        defer { index.close() }
        let reembedding = reembed && !index.isNew
        var roots = try Self.roots(self.roots, of: index, reembedding: reembedding)
        if let shard { roots = roots.map { IngestRoot(path: $0.path, options: $0.options, shard: shard) } }
        // Resolve: what is asked, else the index's own (nothing of it when rebuilding), else the default.
        let recipe = reembedding ? nil : index.recipe
        let resolved = embedder.resolved(against: recipe)
        let embedder = try await makeEmbedder(resolved)
        let chunking = try chunking.resolved(against: recipe, embedder: embedder)
        for warning in chunking.warnings { events.warning(warning) }
        let store =
            reembedding
            ? try index.makeRebuild()
            : try await index.writableStore(keywordIndexProgress: events.keywordIndexProgress, upkeep: keywordIndexUpkeep)
        if let quantization, !self.pipeline.dryRun { try await store.setQuantization(quantization) }
        var pipeline = IngestPipeline(
            embedder: embedder,
            parser: ParserRegistry(configuration: .init(maximumFileSize: Int(self.pipeline.maxFileSize))),
            chunker: TextChunker(configuration: chunking.configuration, tokenCounter: embedder.tokenCounter),
            store: store, configuration: self.pipeline)
        pipeline.chunkContext = chunking.context
        pipeline.openaiRecipe = resolved.recordedOpenAI
        // Run.
        events.started()
        let report = try await pipeline.run(roots: roots, ignoredPaths: index.ownFiles, observer: events.pipeline)
        if reembedding && !report.interrupted && !self.pipeline.dryRun {
            // The swap: queries saw the old vectors until this transaction commits, and the new ones after.
            if let warning = try await index.swapIn(store) { events.warning(warning) }
        }
        return report
    }

    /// The roots to walk: those given, with every recorded one when rebuilding the whole index; for a reindex,
    /// the recorded ones.
    static func roots(_ given: [IngestRoot]?, of index: EmbeddingIndex, reembedding: Bool) throws -> [IngestRoot] {
        let recorded = index.recipe?.roots ?? []
        guard var roots = given else {
            guard !recorded.isEmpty else { throw StoreError.noRoots(index.path, isNew: index.isNew) }
            return recorded
        }
        // Everything the index holds is built again, with the embedder and chunking asked for now.
        if reembedding {
            for root in recorded where !roots.contains(where: { $0.path == root.path }) { roots.append(root) }
        }
        return roots
    }
}

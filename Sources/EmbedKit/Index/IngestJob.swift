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
    /// The approximate index a PostgreSQL index keeps from now on (`--ann`); nil keeps the index's own.
    public var approximateIndex: ApproximateIndex?

    public init(
        db: String, roots: [IngestRoot]?, embedder: EmbedderRequest = .init(), chunking: ChunkingRequest = .init(),
        pipeline: IngestPipeline.Configuration = .init(), reembed: Bool = false, wait: Bool = false,
        keywordIndexUpkeep: KeywordIndexUpkeep = .repairIfNeeded, quantization: VectorQuantization? = nil,
        shard: IngestShard? = nil, approximateIndex: ApproximateIndex? = nil
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
        self.approximateIndex = approximateIndex
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
        if PostgresLocation.isPostgres(db) {
            return try await runOnPostgres(try PostgresLocation(db), events: events, makeEmbedder: makeEmbedder)
        }
        if let approximateIndex, approximateIndex.kind != .none {
            throw UsageError("--ann applies to PostgreSQL indexes; a SQLite index is always searched exactly")
        }
        // Open: an existing index is locked before its recipe is read; a new one only once the embedder and the
        // options are known to be good (`writableStore`), so that a refused run leaves no file behind.
        let access: EmbeddingIndex.Access =
            pipeline.dryRun ? .dryRun : roots == nil ? .write(wait: wait) : .writeOrCreate(wait: wait)
        let index = try await EmbeddingIndex.open(db, for: access)
        defer { index.close() }
        let reembedding = reembed && !index.isNew
        let roots = try Self.roots(
            self.roots, recorded: index.recipe?.roots, path: index.path, isNew: index.isNew, reembedding: reembedding,
            shard: shard)
        // Resolve: what is asked, else the index's own (nothing of it when rebuilding), else the default.
        let (pipelineEmbedder, chunking, resolved) = try await resolve(
            against: reembedding ? nil : index.recipe, events: events, makeEmbedder: makeEmbedder)
        let store =
            reembedding
            ? try index.makeRebuild()
            : try await index.writableStore(keywordIndexProgress: events.keywordIndexProgress, upkeep: keywordIndexUpkeep)
        if let quantization, !self.pipeline.dryRun { try await store.setQuantization(quantization) }
        let pipeline = makePipeline(embedder: pipelineEmbedder, chunking: chunking, resolved: resolved, store: store)
        // Run.
        events.started()
        let report = try await pipeline.run(roots: roots, ignoredPaths: index.ownFiles, observer: events.pipeline)
        if reembedding && !report.interrupted && !self.pipeline.dryRun {
            // The swap: queries saw the old vectors until this transaction commits, and the new ones after.
            if let warning = try await index.swapIn(store) { events.warning(warning) }
        }
        return report
    }

    /// The run on a PostgreSQL index: the store is locked before its recipe is read, a `--reembed` builds the
    /// index anew in a schema beside it and swaps the two in one transaction.
    private func runOnPostgres(
        _ location: PostgresLocation, events: Events,
        makeEmbedder: @Sendable (ResolvedEmbedder) async throws -> any Embedder
    ) async throws -> IngestReport {
        if pipeline.dryRun {
            let store = try PostgresIndexStore(dryRunOf: location)
            let recipe = try await store.recipe()
            let roots = try Self.roots(
                self.roots, recorded: recipe?.roots, path: location.display, isNew: recipe == nil, reembedding: false,
                shard: shard)
            let (pipelineEmbedder, chunking, resolved) = try await resolve(
                against: reembed ? nil : recipe, events: events, makeEmbedder: makeEmbedder)
            events.started()
            return try await makePipeline(embedder: pipelineEmbedder, chunking: chunking, resolved: resolved, store: store)
                .run(roots: roots, observer: events.pipeline)
        }
        if quantization != nil {
            events.warning("--quantize applies to SQLite indexes only; a PostgreSQL index is searched by pgvector")
        }
        if reembed && shard != nil {
            throw UsageError(
                "--reembed rebuilds the whole PostgreSQL index, not one shard of it: run it once without --shard")
        }
        // A shard writes its own files only: the writers of the other shards write at once.
        let index = try PostgresIndexStore(
            location, wait: wait, create: roots != nil, writer: shard.map { .shard($0) } ?? .whole)
        let recipe = try await index.recipe()
        let isNew = recipe == nil
        let reembedding = reembed && !isNew
        let roots = try Self.roots(
            self.roots, recorded: recipe?.roots, path: location.display, isNew: isNew, reembedding: reembedding,
            shard: shard)
        let (pipelineEmbedder, chunking, resolved) = try await resolve(
            against: reembedding ? nil : recipe, events: events, makeEmbedder: makeEmbedder)
        let store = reembedding ? try await index.makeRebuild() : index
        let pipeline = makePipeline(embedder: pipelineEmbedder, chunking: chunking, resolved: resolved, store: store)
        events.started()
        let report = try await pipeline.run(roots: roots, observer: events.pipeline)
        if !report.interrupted {
            let recorded = try await index.approximateIndex()
            let keep = approximateIndex ?? recorded
            if keep.kind != .none || approximateIndex != nil {
                try await store.applyApproximateIndex(keep, dimension: pipelineEmbedder.identity.dimension)
            }
            if reembedding { try await index.swapIn(store) }
        }
        return report
    }

    /// The embedder for documents and the chunking: what is asked, else `recipe`'s, else the defaults.
    private func resolve(
        against recipe: IndexRecipe?, events: Events,
        makeEmbedder: @Sendable (ResolvedEmbedder) async throws -> any Embedder
    ) async throws -> (any Embedder, ResolvedChunking, ResolvedEmbedder) {
        let resolved = embedder.resolved(against: recipe)
        let embedder = try await makeEmbedder(resolved)
        let chunking = try chunking.resolved(against: recipe, embedder: embedder)
        for warning in chunking.warnings { events.warning(warning) }
        return (embedder, chunking, resolved)
    }

    private func makePipeline(
        embedder: any Embedder, chunking: ResolvedChunking, resolved: ResolvedEmbedder, store: any IndexStore
    ) -> IngestPipeline {
        var pipeline = IngestPipeline(
            embedder: embedder,
            parser: ParserRegistry(configuration: .init(maximumFileSize: Int(self.pipeline.maxFileSize))),
            chunker: TextChunker(configuration: chunking.configuration, tokenCounter: embedder.tokenCounter),
            store: store, configuration: self.pipeline)
        pipeline.chunkContext = chunking.context
        pipeline.openaiRecipe = resolved.recordedOpenAI
        return pipeline
    }

    /// The roots to walk: those given, with every recorded one when rebuilding the whole index; for a reindex,
    /// the recorded ones.
    /// With `shard`, every root takes that part of its tree.
    static func roots(
        _ given: [IngestRoot]?, recorded: [IngestRoot]?, path: String, isNew: Bool, reembedding: Bool,
        shard: IngestShard?
    ) throws -> [IngestRoot] {
        let recorded = recorded ?? []
        var roots: [IngestRoot]
        if let given {
            roots = given
            // Everything the index holds is built again, with the embedder and chunking asked for now.
            if reembedding {
                for root in recorded where !roots.contains(where: { $0.path == root.path }) { roots.append(root) }
            }
        } else {
            guard !recorded.isEmpty else { throw StoreError.noRoots(path, isNew: isNew) }
            roots = recorded
        }
        if let shard { roots = roots.map { IngestRoot(path: $0.path, options: $0.options, shard: shard) } }
        return roots
    }
}

import Crypto
import Foundation

/// Reads, parses, chunks, embeds and stores files, streaming, with bounded concurrency at every stage.
///
/// One task group holds all the work: up to ``Configuration/parseConcurrency`` files being read, parsed and
/// chunked, and up to ``Configuration/embeddingConcurrency`` batches being embedded. The loop that owns the
/// group is the only place with mutable state: it assembles chunks into batches, fills each document's
/// vectors as batches return, and hands complete documents to the store (the single writer) in batched
/// transactions. It stops reading files while enough chunks are waiting, so memory stays bounded however
/// large the tree is.
///
/// A document is stored only when every one of its chunks has a vector: a failed batch fails its documents,
/// which are reported and left for the next run, while the rest of the run goes on.
public struct IngestPipeline: Sendable {
    public struct Configuration: Sendable {
        /// Embedding batches in flight at once.
        public var embeddingConcurrency: Int
        /// Chunks per embedding call (capped by the embedder's `maxBatchSize`).
        public var batchSize: Int
        /// Files read and parsed at once.
        public var parseConcurrency: Int
        /// Hash every file, even when its size and modification time are unchanged.
        public var checksum: Bool
        /// Files larger than this are skipped with a warning.
        public var maxFileSize: Int64
        /// Chunks written per transaction (at most).
        public var writeBatchChunks: Int
        /// Complete documents are also committed at least this often, so a killed run keeps its work.
        public var writeInterval: Duration
        /// Remove stored documents under the roots whose files no longer exist.
        public var removeMissing: Bool
        /// Find what would change and how many chunks would be embedded, but embed and write nothing.
        public var dryRun: Bool
        /// Names the build of the parsers. A file skipped for a lasting reason (binary, too large, undecodable,
        /// malformed) is remembered with its size and time and skipped silently while both stay the same, unless
        /// it was skipped under other rules: a newer embed may read what an older one could not.
        public var skipRules: String

        public init(
            embeddingConcurrency: Int = ProcessInfoCores.active, batchSize: Int = 64,
            parseConcurrency: Int = ProcessInfoCores.active, checksum: Bool = false,
            maxFileSize: Int64 = 64 << 20, writeBatchChunks: Int = 2048, writeInterval: Duration = .seconds(2),
            removeMissing: Bool = true, dryRun: Bool = false, skipRules: String = "embed"
        ) {
            self.embeddingConcurrency = max(1, embeddingConcurrency)
            self.batchSize = max(1, batchSize)
            self.parseConcurrency = max(1, parseConcurrency)
            self.checksum = checksum
            self.maxFileSize = maxFileSize
            self.writeBatchChunks = max(1, writeBatchChunks)
            self.writeInterval = writeInterval
            self.removeMissing = removeMissing
            self.dryRun = dryRun
            self.skipRules = skipRules
        }
    }

    /// What happened to a document in the index.
    public enum Change: String, Sendable {
        case added, updated, removed
    }

    /// Callbacks from a running pipeline; all are called from the pipeline's loop, one at a time.
    public struct Observer: Sendable {
        public var diagnostic: @Sendable (Diagnostic) -> Void
        public var progress: @Sendable (IngestProgress) -> Void
        /// A document was (or, in a dry run, would be) added, updated or removed.
        public var change: @Sendable (Change, String) -> Void
        /// Asked between steps and every 250 ms; when it returns true the run cancels its batches in flight,
        /// commits the documents already complete, and returns.
        public var shouldStop: @Sendable () -> Bool

        public init(
            diagnostic: @escaping @Sendable (Diagnostic) -> Void = { _ in },
            progress: @escaping @Sendable (IngestProgress) -> Void = { _ in },
            change: @escaping @Sendable (Change, String) -> Void = { _, _ in },
            shouldStop: @escaping @Sendable () -> Bool = { false }
        ) {
            self.diagnostic = diagnostic
            self.progress = progress
            self.change = change
            self.shouldStop = shouldStop
        }
    }

    public let embedder: any Embedder
    public let parser: any DocumentParser
    public let chunker: TextChunker
    public let store: any IndexStore
    public let configuration: Configuration
    /// Recorded in the index with its roots, for `reindex`.
    public var openaiRecipe: OpenAIRecipe?
    /// What is embedded with each chunk besides its text; part of the index's settings. The chunker's
    /// `maxTokens` must leave room for it (``ChunkContext/reservedTokens``).
    public var chunkContext: ChunkContext = .none

    public init(
        embedder: any Embedder, parser: any DocumentParser, chunker: TextChunker, store: any IndexStore,
        configuration: Configuration = Configuration()
    ) {
        self.embedder = embedder
        self.parser = parser
        self.chunker = chunker
        self.store = store
        self.configuration = configuration
    }

    /// The settings this pipeline writes into an index.
    public var settings: IndexSettings {
        IndexSettings(embedder: embedder.identity, chunking: chunker.configuration, chunkContext: chunkContext)
    }

    /// Ingests every file under `roots` (files or folders), each walked with its own options, and records the
    /// roots in the index.
    /// - Parameter ignoredPaths: files never ingested (the index itself).
    /// - Throws: ``StoreError`` when the index cannot be written, ``EmbeddingError`` when the embedder cannot work
    ///   at all (``EmbeddingError/stopsRun``); problems with single files are diagnostics.
    public func run(
        roots: [IngestRoot], ignoredPaths: Set<String> = [], observer: Observer = Observer()
    ) async throws -> IngestReport {
        let exists = { (root: IngestRoot) in FileManager.default.fileExists(atPath: root.path) }
        if configuration.dryRun {
            try await store.checkCompatible(settings)
        } else {
            try await store.prepare(settings, roots: roots.filter(exists))
            try await store.recordEmbedder(openaiRecipe)
        }
        let states = try await store.documentStates()
        let skipped = try await store.skippedFiles()
        // A root that was a single file (the index holds it as a file) and is gone is removed like any deleted
        // file, with its root; a missing folder root is walked, reported, and its documents kept.
        let goneFileRoots = roots.filter {
            !exists($0) && (states[$0.path] != nil || skipped[$0.path] != nil) && $0.takes($0.path)
        }
        let walked = roots.filter { root in !goneFileRoots.contains { $0.path == root.path } }
        var run = IngestRun(pipeline: self, observer: observer, states: states, skipped: skipped, roots: walked)
        // Roots may nest (a folder ingested whole, and one of its folders on its own): a file is taken once, from
        // the first root that yields it, or the run would count it twice, and embed it twice when it changed.
        // Only then are the paths remembered (memory grows with the files).
        let canonical = walked.map { FileWalker.canonicalPath($0.path) ?? $0.path }
        let nested = canonical.indices.contains { i in
            canonical.indices.contains { j in i != j && SearchFilter.path(canonical[j], isUnder: canonical[i]) }
        }
        var taken = Set<String>()
        let files = walked.lazy.flatMap { root in
            var options = root.options
            options.ignoredPaths = ignoredPaths
            return FileWalker(roots: [root.path], options: options)
        }.filter { event in
            guard nested, case .file(let file) = event else { return true }
            return taken.insert(file.path).inserted
        }
        try await run.process(files)
        if !goneFileRoots.isEmpty && !run.report.interrupted {
            try await run.removeFileRoots(goneFileRoots.map(\.path))
        }
        if configuration.removeMissing && !run.report.interrupted {
            // A root that is missing altogether (an unmounted disk?) is reported, and its documents are kept.
            try await run.removeMissing(under: walked.filter(exists))
        }
        if !configuration.dryRun, let warning = try await store.refreshVectorFile() {
            observer.diagnostic(Diagnostic(path: "", .warning, warning))
        }
        run.finish()
        return run.report
    }

    /// Ingests `paths`, all walked with the same options.
    public func run(
        paths: [String], walkOptions: FileWalker.Options = .init(), observer: Observer = Observer()
    ) async throws -> IngestReport {
        try await run(
            roots: paths.map { IngestRoot.resolving($0, options: walkOptions) }, ignoredPaths: walkOptions.ignoredPaths,
            observer: observer)
    }
}

/// What reading, parsing and chunking one file gave.
enum PreparedFile: Sendable {
    case document(PreparedDocument)
    /// The file's bytes hash to what the index already has: only its size and time are updated.
    case sameContent(SourceFile)
    /// Skipped for a reason that lasts until the file changes: remembered, so it is not reported again.
    case skipped(SkippedFile, Diagnostic)
    case problem(Diagnostic)
}

struct PreparedDocument: Sendable {
    var file: SourceFile
    var contentHash: ContentDigest
    var parsed: ParsedDocument
    var chunks: [Chunk]
    /// The text embedded for each chunk (see ``ChunkHeaders``), and its digest, the embedding cache's key.
    var embeddedTexts: [String]
    var textHashes: [ContentDigest]
    var isUpdate: Bool
}

extension IngestPipeline {
    /// Reads, hashes, parses and chunks one file. Runs in a child task; touches no shared state.
    func prepare(_ file: SourceFile, storedHash: ContentDigest?) -> PreparedFile {
        func lasting(_ reason: SkippedFile.Reason, _ diagnostic: Diagnostic) -> PreparedFile {
            .skipped(
                SkippedFile(
                    path: file.path, size: file.size, modificationTimeNanoseconds: file.modificationTimeNanoseconds,
                    reason: reason, maxFileSize: configuration.maxFileSize, rules: configuration.skipRules),
                diagnostic)
        }
        if file.size > configuration.maxFileSize {
            return lasting(
                .tooLarge,
                Diagnostic(path: file.path, .warning, "larger than \(configuration.maxFileSize >> 20) MiB, skipped"))
        }
        let bytes: [UInt8]
        let readingWarnings: [String]
        do {
            (bytes, readingWarnings) = try FileReading.readDocument(file.path, limit: configuration.maxFileSize)
        } catch let error as FileReadingError where error.code == .decompressesPastLimit {
            return .problem(Diagnostic(path: file.path, .warning, error.message))
        } catch {
            return .problem(Diagnostic(path: file.path, .error, "cannot read: \(error)"))
        }
        let hash = Array(SHA256.hash(data: bytes))
        if let storedHash, storedHash == hash { return .sameContent(file) }
        var parsed: ParsedDocument
        do {
            parsed = try parser.parse(bytes, path: file.path)
            parsed.warnings = readingWarnings + parsed.warnings
        } catch let error as ParsingError {
            let diagnostic = Diagnostic(path: file.path, error.code == .binary ? .warning : .error, error.message)
            // The same bytes give the same verdict, so it is remembered until the file changes.
            guard let reason = SkippedFile.Reason(error.code) else { return .problem(diagnostic) }
            return lasting(reason, diagnostic)
        } catch {
            return .problem(Diagnostic(path: file.path, .error, "cannot parse: \(error)"))
        }
        let chunks = chunker.chunks(for: parsed)
        let embeddedTexts = ChunkHeaders(context: chunkContext, tokenCounter: chunker.tokenCounter)
            .embeddedTexts(for: chunks, of: parsed)
        // Keyed by what is embedded: one text under two headings has two vectors.
        let textHashes = embeddedTexts.map { Array(SHA256.hash(data: Array($0.utf8))) }
        return .document(
            PreparedDocument(
                file: file, contentHash: hash, parsed: parsed, chunks: chunks, embeddedTexts: embeddedTexts,
                textHashes: textHashes, isUpdate: storedHash != nil))
    }
}

import ArgumentParser
import EmbedKit
import Foundation

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Add folders or files of text, Markdown, reStructuredText, HTML and XML to an index.",
        discussion: """
            Walks each PATH recursively and reads its documents: text (.txt, .text, .adoc, .asciidoc, .org and \
            files without an extension that hold text), Markdown, reStructuredText, HTML and XML, also when \
            gzipped (.md.gz) or named for Apache's content negotiation (index.html.en). Style sheets, scripts, \
            source code, data, images and everything else are skipped silently, as are folders such as \
            node_modules and __pycache__ and paths ignored by .gitignore or .ignore files; --include brings any \
            of them back. Hidden files and folders are skipped unless --hidden. It parses, chunks and embeds \
            every document, and stores documents, chunks and vectors in the index. Files already in the index \
            with the same size and modification time are not read again; a changed file's chunks are replaced; \
            files gone from under PATH are removed. A problem with one file is reported on stderr as \
            `path: warning: ...` or `path: error: ...` and the run goes on. HTML and XML are decoded as \
            their charset declaration says (any label of the WHATWG Encoding Standard). NAME.EXT.gz is \
            decompressed and read as NAME.EXT.

            \(ExitStatus.writerHelp)
            """)

    @Argument(help: "Folders or files to ingest.", completion: .file())
    var paths: [String]

    @OptionGroup var store: StoreOptions
    @OptionGroup var embedderOptions: EmbedderOptions
    @OptionGroup var walk: WalkOptions
    @OptionGroup var ingest: IngestOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("Give at least one folder or file to ingest.") }
        try ingest.validate()
    }

    func run() async throws {
        let roots = paths.map { IngestRoot.resolving($0, options: walk.fileWalkerOptions) }
        let status = try await IngestRunner(
            roots: roots, db: store.db, embedderOptions: embedderOptions, ingest: ingest, output: output
        ).run()
        if status != ExitStatus.success { throw ExitCode(status) }
    }
}

/// Which files `ingest` reads under its paths; recorded with each root, which `reindex` walks the same way.
struct WalkOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Also read files matching this glob, even those skipped by default (repeatable).",
            discussion: """
                A glob with / matches the path below the root, others the file name. It beats the type rules \
                and .gitignore, and enters a skipped folder only when the glob names it (node_modules/pkg/**).
                """))
    var include: [String] = []

    @Option(help: "Skip files and folders matching this glob (repeatable; wins over --include).")
    var exclude: [String] = []

    @Option(help: "Read only files matching this glob, of any type, instead of the default documents (repeatable).")
    var only: [String] = []

    @Flag(help: "Do not honour .gitignore and .ignore files.")
    var noIgnore = false

    @Flag(help: "Also ingest hidden files and folders (names starting with a dot).")
    var hidden = false

    @Flag(help: "Follow symlinks that lead outside the ingested folders.")
    var followSymlinks = false

    var fileWalkerOptions: FileWalker.Options {
        var walk = FileWalker.Options()
        walk.include = include
        walk.exclude = exclude
        walk.only = only
        walk.useIgnoreFiles = !noIgnore
        walk.includeHidden = hidden
        walk.followSymlinks = followSymlinks
        return walk
    }
}

/// Options shared by `ingest` and `reindex`.
struct IngestOptions: ParsableArguments {
    @Flag(help: "Hash every file, even when its size and modification time are unchanged.")
    var checksum = false

    @Option(help: "Embedding batches in flight at once.")
    var concurrency: Int = ProcessInfoCores.active

    @Option(help: "Chunks per embedding batch.")
    var batchSize: Int = 64

    @Option(help: "Largest chunk, in the embedder's tokens.")
    var chunkTokens: Int?

    @Option(help: "Tokens repeated between consecutive chunks of a section.")
    var overlapTokens: Int?

    @Option(
        help: ArgumentHelp(
            "What is embedded with each chunk besides its text: title-headings (the document's title and the chunk's "
                + "headings, `Title › Section`) or none.",
            discussion: "Default: the index's own, else \(ChunkingRequest.defaultContext.rawValue). Recorded in the index; "
                + "another is refused (--reembed rebuilds the index with it). Stored text is never changed.",
            valueName: "title-headings|none"),
        transform: choice("--chunk-context"))
    var chunkContext: ChunkContext?

    // Parts of the chunking recipe: a new index gets the defaults, an existing one keeps its own, and another value
    // is refused like another --chunk-tokens. The second is kept for measuring (benchmarks/retrieval).
    @Option(
        help: ArgumentHelp(
            "true: read the hard-wrapped lines of a plain-text paragraph as one line, so chunks start at sentences.",
            discussion: "Default false for a new index, an existing index's own otherwise."))
    var joinWrappedLines: Bool?

    @Option(help: ArgumentHelp("Embed chunks without words too (true or false).", visibility: .hidden))
    var embedWordlessChunks: Bool?

    @Option(
        help: ArgumentHelp(
            "Keep the vectors also as int8 codes, which queries scan first (a quarter of the bytes) before re-scoring "
                + "the few candidates exactly: auto (from \(VectorQuantization.autoRows) vectors), int8 or none.",
            discussion: "Answers are the same either way. Recorded in the index; the index's own when not given.",
            valueName: "auto|int8|none"),
        transform: choice("--quantize"))
    var quantize: VectorQuantization?

    @Option(
        help: ArgumentHelp(
            "Take only part I of N of the tree: the files whose path below their root hashes into part I (1 to N).",
            discussion: "N processes or machines with --shard 1/N ... N/N ingest one tree at once, each into its own "
                + "index (joined by `embed merge`). Recorded with the roots, so `reindex` takes the same part; a shard "
                + "removes only its own files that are gone.",
            valueName: "I/N"),
        transform: { text in
            guard let shard = IngestShard(text) else {
                throw ValidationError(
                    "--shard must be I/N with 1 <= I <= N <= \(IngestShard.maxCount), such as 2/4, not \"\(text)\".")
            }
            return shard
        })
    var shard: IngestShard?

    @Option(
        help: ArgumentHelp(
            "PostgreSQL indexes: keep an approximate index of the vectors, hnsw (pgvector's HNSW graph), or none "
                + "(every query scans exactly).",
            discussion: "HNSW answers large indexes faster but may miss some of the nearest chunks (its recall is "
                + "measured in benchmarks/RESULTS.md); searches with --under, --path or --format still scan exactly. "
                + "Recorded in the index; the index's own when not given.",
            valueName: "none|hnsw"),
        transform: choice("--ann"))
    var ann: ApproximateIndex.Kind?

    @Option(help: ArgumentHelp("HNSW: links per node (pgvector's m, 2 to 100).", valueName: "m"))
    var hnswM: Int = 16

    @Option(help: ArgumentHelp("HNSW: candidates kept while building (pgvector's ef_construction, 2·m to 1000).", valueName: "n"))
    var hnswEfConstruction: Int = 64

    @Option(
        help: ArgumentHelp(
            "HNSW: candidates searched per query (pgvector's ef_search, 1 to 1000; at least the results asked for "
                + "plus 32). Higher finds more of the true nearest, slower.", valueName: "n"))
    var hnswEfSearch: Int = 100

    /// The approximate index asked for; nil keeps the index's own.
    var approximateIndex: ApproximateIndex? {
        ann.map { ApproximateIndex(kind: $0, m: hnswM, efConstruction: hnswEfConstruction, efSearch: hnswEfSearch) }
    }

    @Option(help: "Files larger than this many MiB (for .gz files, decompressed) are skipped with a warning.")
    var maxFileMib: Int = 64

    @Flag(help: "Wait for another ingest or reindex of the same index to finish, instead of exiting with status 4.")
    var wait = false

    @Flag(
        help: ArgumentHelp(
            "Build the whole index again with the embedder and chunking given now.",
            discussion: "The old vectors stay searchable until the new ones replace them in one transaction."))
    var reembed = false

    @Flag(help: "Print what would be added, updated and removed, and how many chunks would be embedded; change nothing.")
    var dryRun = false

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1.") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1.") }
        if let chunkTokens, chunkTokens < 8 { throw ValidationError("--chunk-tokens must be at least 8.") }
        if let overlapTokens, overlapTokens < 0 { throw ValidationError("--overlap-tokens must not be negative.") }
        if let chunkTokens, let overlapTokens, overlapTokens >= chunkTokens {
            throw ValidationError("--overlap-tokens must be smaller than --chunk-tokens.")
        }
        guard maxFileMib >= 1 else { throw ValidationError("--max-file-mib must be at least 1.") }
        if let approximateIndex, !approximateIndex.isValid {
            throw ValidationError(
                "--hnsw-m must be 2 to 100, --hnsw-ef-construction 2·m to 1000, and --hnsw-ef-search 1 to 1000.")
        }
    }

    /// The chunking the flags ask for; the index's recipe and the library's defaults fill the rest.
    var chunking: ChunkingRequest {
        ChunkingRequest(
            maxTokens: chunkTokens, overlapTokens: overlapTokens, joinsWrappedLines: joinWrappedLines,
            embedsWordlessChunks: embedWordlessChunks, context: chunkContext)
    }
}

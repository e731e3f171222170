import ArgumentParser
import EmbedKit
import Foundation

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show what an index holds: documents, chunks, embedder, size on disk.",
        discussion: ExitStatus.statsHelp)

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Check the index's integrity (exit status 3 when it is damaged).")
    var check = false

    func run() async throws {
        let stats: IndexStatistics
        let problems: [String]
        let vectorFileProblem: String?
        let keywordIndexProblem: KeywordIndexProblem?
        let keywordIndexState: KeywordIndexState
        do {
            let index = try await EmbeddingIndex.open(store.db, for: .read)
            (stats, problems, vectorFileProblem, keywordIndexState, keywordIndexProblem) = try await index.withContents {
                reader in
                guard check else { return (try reader.statistics(), [], nil, .ready, nil) }
                return (
                    try reader.statistics(), try reader.check(), try reader.vectorFileProblem(),
                    try reader.keywordIndexState(), try reader.keywordIndexProblem()
                )
            }
        } catch {
            throw Terminal.fail(error)
        }

        let out = OutputBuffer()
        if json {
            out.line(JSONLines.encode(StatsLine(path: store.db, stats)))
        } else {
            out.line("index:      \(store.db)")
            out.line("documents:  \(stats.documents)")
            out.line("chunks:     \(stats.chunks)")
            out.line("vectors:    \(stats.vectors) distinct")
            if stats.chunksWithoutVector > 0 {
                out.line("no vector:  \(stats.chunksWithoutVector) chunks without words (found by keyword search only)")
            }
            if let settings = stats.settings {
                out.line("embedder:   \(settings.embedder.name) (\(settings.embedder.model))")
                out.line("dimension:  \(settings.embedder.dimension)")
                if !settings.embedder.hasNoPrefixes {
                    out.line(
                        "prefixes:   query \(EmbedderIdentity.quoted(settings.embedder.queryPrefix)), "
                            + "document \(EmbedderIdentity.quoted(settings.embedder.documentPrefix))")
                }
                let chunking = settings.chunking
                out.line(
                    "chunking:   \(chunking.maxTokens) tokens, \(chunking.overlapTokens) overlap, wrapped lines "
                        + (chunking.joinsWrappedLines ? "joined" : "kept") + ", chunks without words "
                        + (chunking.embedsWordlessChunks ? "embedded" : "not embedded"))
                out.line("context:    \(settings.chunkContext.rawValue)")
            } else {
                out.line("embedder:   (none yet)")
            }
            out.line("roots:      \(stats.roots.map { DisplayPath.of($0.path) }.joined(separator: ", "))")
            out.line(String(format: "size:       %.1f MiB", Double(stats.bytesOnDisk) / 1_048_576))
            if let approximate = stats.approximateIndex {
                // PostgreSQL: no vector file, no files of its own.
                out.line("ann:        \(approximate)")
            } else {
                out.line(
                    "quantize:   \(stats.quantization.rawValue)"
                        + (stats.deadRows > 0 ? ", \(stats.deadRows) dead rows in the vector file" : ""))
                for file in stats.files {
                    out.line("file:       " + String(format: "%10.1f MiB  ", Double(file.bytes) / 1_048_576) + DisplayPath.of(file.path))
                }
            }
        }
        out.flush()
        guard check else { return }
        for problem in problems { Terminal.error("\(store.db): error: \(problem)") }
        if let vectorFileProblem { Terminal.error("\(store.db): error: \(vectorFileProblem)") }
        if let keywordIndexProblem { Terminal.error("\(store.db): error: \(keywordIndexProblem)") }
        guard problems.isEmpty else {
            throw Terminal.fail("\(store.db) is damaged; rebuild it with `embed ingest` into a new --db")
        }
        // The keyword index is derived from the chunks: reindex drops and builds it again.
        if let keywordIndexProblem {
            // Only what the quick check of every writer finds is rebuilt by a plain reindex.
            let option = keywordIndexProblem.foundByWriters ? "" : " --rebuild-keyword-index"
            throw Terminal.fail(
                "\(store.db): the documents, chunks and vectors are sound, but the keyword index is not; "
                    + "rebuild it with `embed reindex\(option) --db \(store.db)`")
        }
        if keywordIndexState == .missing {
            Terminal.error(
                "\(store.db): note: no keyword index yet (written by an older embed); "
                    + "the next `embed reindex --db \(store.db)` builds it")
        }
        // The index itself is sound; its vector file (derived data) is not, and is never used as it is.
        guard vectorFileProblem == nil else {
            throw Terminal.fail("\(store.db): the index is sound, but its vector file is not (it will be rebuilt)")
        }
        Terminal.error("\(store.db): integrity check passed")
    }
}

struct StatsLine: Encodable {
    var path: String
    var documents: Int
    var chunks: Int
    var vectors: Int
    var embedder: String?
    var model: String?
    var dimension: Int?
    var normalized: Bool?
    var query_prefix: String?
    var document_prefix: String?
    var chunk_tokens: Int?
    var overlap_tokens: Int?
    var chunks_without_vector: Int
    var joins_wrapped_lines: Bool?
    var embeds_wordless_chunks: Bool?
    var chunk_context: String?
    var roots: [String]
    var bytes_on_disk: Int64
    var quantization: String
    var dead_rows: Int
    var files: [File]
    /// A PostgreSQL index's approximate index (`none` or `hnsw`), with its parameters; absent for SQLite.
    var ann: String?
    var hnsw_m: Int?
    var hnsw_ef_construction: Int?
    var hnsw_ef_search: Int?

    struct File: Encodable {
        var path: String
        var bytes: Int64
    }

    init(path: String, _ s: IndexStatistics) {
        self.path = path
        documents = s.documents
        chunks = s.chunks
        vectors = s.vectors
        embedder = s.settings?.embedder.name
        model = s.settings?.embedder.model
        dimension = s.settings?.embedder.dimension
        normalized = s.settings?.embedder.isNormalized
        query_prefix = s.settings?.embedder.queryPrefix
        document_prefix = s.settings?.embedder.documentPrefix
        chunks_without_vector = s.chunksWithoutVector
        joins_wrapped_lines = s.settings?.chunking.joinsWrappedLines
        embeds_wordless_chunks = s.settings?.chunking.embedsWordlessChunks
        chunk_tokens = s.settings?.chunking.maxTokens
        overlap_tokens = s.settings?.chunking.overlapTokens
        chunk_context = s.settings?.chunkContext.rawValue
        roots = s.roots.map(\.path)
        bytes_on_disk = s.bytesOnDisk
        quantization = s.quantization.rawValue
        dead_rows = s.deadRows
        files = s.files.map { File(path: $0.path, bytes: $0.bytes) }
        if let approximate = s.approximateIndex {
            ann = approximate.kind.rawValue
            if approximate.kind == .hnsw {
                (hnsw_m, hnsw_ef_construction, hnsw_ef_search) = (approximate.m, approximate.efConstruction, approximate.efSearch)
            }
        }
    }
}

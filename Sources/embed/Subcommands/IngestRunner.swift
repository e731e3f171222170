import EmbedKit
import Foundation

/// Builds the pipeline from the options, runs it, and prints diagnostics, progress and the summary.
struct IngestRunner {
    var roots: [String]
    var db: String
    var embedderOptions: EmbedderOptions
    var ingest: IngestOptions
    var output: OutputOptions

    /// Runs the ingest and returns the exit status.
    func run() async throws -> Int32 {
        let store: SQLiteIndexStore
        let embedder: any Embedder
        let existing: IndexSettings?
        do {
            existing = FileManager.default.fileExists(atPath: db) ? try IndexReader(path: db).settings() : nil
            embedder = try await embedderOptions.makeEmbedder(for: existing)
            store = try SQLiteIndexStore(path: db)
        } catch {
            throw Terminal.fail("\(error)")
        }
        let chunking = TextChunker.Configuration(
            maxTokens: ingest.chunkTokens ?? existing?.chunking.maxTokens ?? defaultChunkTokens(embedder),
            overlapTokens: ingest.overlapTokens ?? existing?.chunking.overlapTokens ?? TextChunker.Configuration().overlapTokens)
        let pipeline = IngestPipeline(
            embedder: embedder, parser: ParserRegistry(),
            chunker: TextChunker(configuration: chunking, tokenCounter: embedder.tokenCounter), store: store,
            configuration: .init(
                embeddingConcurrency: ingest.concurrency, batchSize: ingest.batchSize, checksum: ingest.checksum,
                maxFileSize: Int64(ingest.maxFileMib) << 20))

        var walk = FileWalker.Options()
        walk.include = ingest.include
        walk.exclude = ingest.exclude
        walk.includeHidden = ingest.hidden
        walk.followSymlinks = ingest.followSymlinks
        if let index = FileWalker.canonicalPath(db) {
            walk.ignoredPaths = [index, index + "-wal", index + "-shm", index + "-journal"]
        }

        let progress = ProgressPrinter(enabled: output.showsProgress)
        let stop = StopSignal()
        let observer = IngestPipeline.Observer(
            diagnostic: { diagnostic in
                progress.clear()
                Terminal.error(diagnostic.description)
            },
            progress: progress.update,
            shouldStop: { stop.isRequested })

        let report: IngestReport
        do {
            report = try await pipeline.run(roots: roots, walkOptions: walk, observer: observer)
        } catch {
            progress.clear()
            throw Terminal.fail("\(error)")
        }
        progress.clear()
        if output.json {
            let out = OutputBuffer()
            out.line(JSONLines.encode(report))
            out.flush()
        } else if !output.quiet {
            Terminal.error(Self.summary(report))
        }
        if report.interrupted { return ExitStatus.interrupted }
        return report.failed > 0 ? ExitStatus.someFilesFailed : ExitStatus.success
    }

    private func defaultChunkTokens(_ embedder: any Embedder) -> Int {
        min(TextChunker.Configuration().maxTokens, embedder.maxInputTokens ?? .max)
    }

    static func summary(_ r: IngestReport) -> String {
        var text = "Indexed \(r.files) files: \(r.added) added, \(r.updated) updated, \(r.unchanged) unchanged"
        text += ", \(r.removed) removed; \(r.chunks) chunks stored (\(r.chunksEmbedded) embedded, \(r.cacheHits) from cache)"
        text += String(format: " in %.2fs", r.seconds)
        var problems: [String] = []
        if r.failed > 0 { problems.append("\(r.failed) failed") }
        if r.skipped > 0 { problems.append("\(r.skipped) skipped") }
        if r.warnings > 0 { problems.append("\(r.warnings) warnings") }
        if r.interrupted { problems.append("interrupted") }
        return problems.isEmpty ? text : text + "; " + problems.joined(separator: ", ")
    }
}

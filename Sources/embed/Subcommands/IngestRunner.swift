import ArgumentParser
import EmbedKit
import EmbedKitBERT
import Foundation

/// `ingest` and `reindex`: opens the index, resolves the embedder and chunking against its recipe, runs the
/// pipeline, and prints diagnostics, progress and the summary.
struct IngestRunner {
    /// The folders and files to ingest; nil for `reindex`, which walks those the index records.
    var roots: [IngestRoot]?
    var db: String
    var embedderOptions: EmbedderOptions
    var ingest: IngestOptions
    var output: OutputOptions
    /// Build the keyword index again whatever its state (`reindex --rebuild-keyword-index`).
    var rebuildKeywordIndex = false

    /// Runs the ingest and returns the exit status.
    func run() async throws -> Int32 {
        // Installed first: once this run holds the lock, SIGINT and SIGTERM always stop it cleanly.
        let stop = StopSignal()
        let keywordIndex = KeywordIndexReporter(db: db, quiet: output.quiet, live: output.showsProgress)
        let index: EmbeddingIndex
        let roots: [IngestRoot]
        let pipeline: IngestPipeline
        let reembedding: Bool
        let store: SQLiteIndexStore
        do {
            // Open: an existing index is locked before its recipe is read; a new one only once the embedder and
            // the options are known to be good (`writableStore`), so that a refused run leaves no file behind.
            let access: EmbeddingIndex.Access =
                ingest.dryRun ? .dryRun : self.roots == nil ? .write(wait: ingest.wait) : .writeOrCreate(wait: ingest.wait)
            index = try await EmbeddingIndex.open(db, for: access)
            reembedding = ingest.reembed && !index.isNew
            roots = try Self.roots(self.roots, of: index, reembedding: reembedding)
            // Resolve: what is asked, else the index's own (nothing of it when rebuilding), else the default.
            let recipe = reembedding ? nil : index.recipe
            let resolved = embedderOptions.request(concurrency: ingest.concurrency).resolved(against: recipe)
            // Making an embedder may ask the server for its dimension: a stop must not wait for that answer.
            let embedder = try await stop.cancelling { try await resolved.makeEmbedder(embedding: .document) }
            let chunking = try ingest.chunking.resolved(against: recipe, embedder: embedder)
            for warning in chunking.warnings { Terminal.error("warning: \(warning)") }
            store = reembedding
                ? try index.makeRebuild()
                : try await index.writableStore(
                    keywordIndexProgress: keywordIndex.progress, upkeep: rebuildKeywordIndex ? .rebuild : .repairIfNeeded)
            var configured = IngestPipeline(
                embedder: embedder,
                parser: ParserRegistry(configuration: .init(maximumFileSize: ingest.maxFileMib << 20)),
                chunker: TextChunker(configuration: chunking.configuration, tokenCounter: embedder.tokenCounter),
                store: store,
                configuration: .init(
                    embeddingConcurrency: ingest.concurrency, batchSize: ingest.batchSize, checksum: ingest.checksum,
                    maxFileSize: Int64(ingest.maxFileMib) << 20, dryRun: ingest.dryRun, skipRules: Self.skipRules))
            configured.chunkContext = chunking.context
            configured.openaiRecipe = resolved.recordedOpenAI
            pipeline = configured
        } catch _ where stop.isRequested {
            // Stopped while setting up (say, during the embedder's first request): a stop, not a failure.
            throw Terminal.fail("stopped before anything was written", status: ExitStatus.interrupted)
        } catch {
            throw Terminal.fail(error)
        }
        defer { index.close() }

        let progress = ProgressPrinter(enabled: output.showsProgress)
        let out = OutputBuffer()
        let (dryRun, json) = (ingest.dryRun, output.json)
        let record = ReportRecord()
        let observer = IngestPipeline.Observer(
            diagnostic: { diagnostic in
                progress.clear()
                var shown = diagnostic
                shown.path = DisplayPath.of(diagnostic.path)
                Terminal.error(shown.description)
                if json { record.add(diagnostic) }
            },
            progress: progress.update,
            change: { change, path in
                guard dryRun else { return }
                let action = change == .added ? "add" : change == .updated ? "update" : "remove"
                if json { record.add(FileActionLine(path: path, action: action)) } else { out.line("\(action) \(DisplayPath.of(path))") }
            },
            shouldStop: { stop.isRequested })

        let report: IngestReport
        do {
            report = try await pipeline.run(roots: roots, ignoredPaths: index.ownFiles, observer: observer)
            if reembedding && !report.interrupted && !ingest.dryRun {
                // The swap: queries saw the old vectors until this transaction commits, and the new ones after.
                if let warning = try await index.swapIn(store) { Terminal.error("warning: \(warning)") }
            }
        } catch {
            progress.clear()
            out.flush()
            throw Terminal.fail(error)
        }
        progress.clear()
        // Results (the JSON report, a dry run's file list) go to stdout; the summary line to stderr.
        if output.json {
            out.line(JSONLines.encode(ReportLine(report, dryRun: ingest.dryRun, record: record)))
        }
        out.flush()
        if !output.json && !output.quiet {
            Terminal.error(ingest.dryRun ? Self.dryRunSummary(report) : Self.summary(report))
        }
        if report.interrupted { return ExitStatus.interrupted }
        return report.failed > 0 ? ExitStatus.someFilesFailed : ExitStatus.success
    }

    /// The roots to walk: those given, with every recorded one when rebuilding the whole index; for `reindex`,
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

    /// Names this build of embed for remembered skips: the version and the executable's size and modification
    /// time, so that an upgraded or rebuilt embed (whose parsers may read more) looks at skipped files again.
    static let skipRules: String = {
        var info = stat()
        guard stat("/proc/self/exe", &info) == 0 else { return EmbedCommand.configuration.version }
        return "\(EmbedCommand.configuration.version) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }()

    static func dryRunSummary(_ r: IngestReport) -> String {
        "Would add \(counted(r.added, "file")), update \(r.updated) and remove \(r.removed) "
            + "(\(r.unchanged) unchanged); would embed \(counted(r.chunksEmbedded, "chunk")) of "
            + "\(counted(r.tokensEmbedded, "token")) (\(r.cacheHits) more from cache)"
    }

    static func summary(_ r: IngestReport) -> String {
        let indexed = r.added + r.updated + r.unchanged
        var text = "Indexed \(counted(indexed, "file")): \(r.added) added, \(r.updated) updated, \(r.unchanged) unchanged"
        text += ", \(r.removed) removed; \(counted(r.chunks, "chunk")) stored (\(r.chunksEmbedded) embedded, "
        text += "\(r.cacheHits) from cache"
        text += r.chunksWithoutVector > 0 ? ", \(r.chunksWithoutVector) without words, not embedded)" : ")"
        text += String(format: " in %.2fs", r.seconds)
        var problems: [String] = []
        if r.failed > 0 { problems.append("\(r.failed) failed") }
        if r.skipped > 0 { problems.append("\(r.skipped) skipped") }
        if r.warnings > 0 { problems.append(counted(r.warnings, "warning")) }
        if r.interrupted { problems.append("interrupted") }
        // Not a problem now, but not in the index either: said in the summary, never line by line again.
        if r.skippedAsBefore > 0 { problems.append("\(r.skippedAsBefore) skipped as before") }
        return problems.isEmpty ? text : text + "; " + problems.joined(separator: ", ")
    }
}

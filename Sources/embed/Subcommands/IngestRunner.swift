import ArgumentParser
import EmbedKit
import Foundation

/// Builds the pipeline from the options, runs it, and prints diagnostics, progress and the summary.
struct IngestRunner {
    var roots: [IngestRoot]
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
        let store: SQLiteIndexStore
        let embedder: any Embedder
        var existing: IndexSettings?
        let context: ChunkContext
        var storedOptions: [String: String] = [:]
        var roots = roots
        var lock: IndexLock?
        // With --reembed, the new index is built here and copied into the index in one transaction at the end.
        let rebuild = SQLiteIndexStore.temporaryName(for: db, marker: ".reembed-")
        let reembedding = ingest.reembed && FileManager.default.fileExists(atPath: db)
        // A dry run of a first ingest compares with an empty index of its own, made in the temporary folder.
        let dryRunScratch: String? =
            ingest.dryRun && !FileManager.default.fileExists(atPath: db)
            ? FileManager.default.temporaryDirectory.appendingPathComponent(
                "embed-dry-run-\(getpid())-\(UUID().uuidString).sqlite"
            ).path : nil
        defer { if let dryRunScratch { IndexCompanions.remove(dryRunScratch) } }
        let keywordIndex = KeywordIndexReporter(db: db, quiet: output.quiet, live: output.showsProgress)
        do {
            // An index that exists is locked before its settings are read; a new one only once the embedder and
            // the options are known to be good, so that a refused run leaves no file (not even a lock) behind.
            // A dry run writes nothing, so it needs no lock (and must not create an index).
            let isNew = !FileManager.default.fileExists(atPath: db)
            if !ingest.dryRun && !isNew { lock = try IndexLock(indexPath: db, wait: ingest.wait) }
            if !isNew {
                let reader = try IndexReader(path: db)
                existing = try reader.settings()
                storedOptions = try reader.embedderOptions()
                if reembedding {
                    // Everything the index holds is built again, with the embedder and chunking asked for now.
                    for root in try reader.roots() where !roots.contains(where: { $0.path == root.path }) {
                        roots.append(root)
                    }
                    existing = nil
                    storedOptions = [:]
                }
            } else {
                existing = nil
            }
            // Making an embedder may ask the server for its dimension: a stop must not wait for that answer.
            let (options, settings, stored, concurrency) = (embedderOptions, existing, storedOptions, ingest.concurrency)
            embedder = try await stop.cancelling {
                try await options.makeEmbedder(
                    for: settings, stored: stored, concurrency: concurrency, embedding: .document)
            }
            // Like the chunking: the flag, else the index's own (none for an index made before it existed), else
            // the default.
            context = ingest.chunkContext ?? existing?.chunkContext ?? .cliDefault
            try Self.checkChunksFit(
                asked: ingest.chunkTokens, stored: existing?.chunking.maxTokens, embedder: embedder, context: context)
            // Should another run make the index meanwhile, its settings are checked when this one prepares it.
            if !ingest.dryRun && isNew { lock = try IndexLock(indexPath: db, wait: ingest.wait) }
            // Opening builds the keyword index of an older index, and repairs a damaged one (not in a dry run).
            store = try SQLiteIndexStore(
                path: dryRunScratch ?? (reembedding ? rebuild : db), keywordIndexProgress: keywordIndex.progress,
                keywordIndexUpkeep: ingest.dryRun ? .none : rebuildKeywordIndex ? .rebuild : .repairIfNeeded)
        } catch let error as StoreError where error.code == .locked {
            throw Terminal.fail(error.message, status: ExitStatus.locked)
        } catch let error as ValidationError {
            throw Terminal.fail(error.message, status: ExitStatus.usage)
        } catch _ where stop.isRequested {
            // Stopped while setting up (say, during the embedder's first request): a stop, not a failure.
            throw Terminal.fail("stopped before anything was written", status: ExitStatus.interrupted)
        } catch {
            throw Terminal.fail("\(error)")
        }
        defer { withExtendedLifetime(lock) {} }
        // What is not asked for is the index's own, or, for a new index, today's default.
        let chunking = TextChunker.Configuration(
            maxTokens: ingest.chunkTokens ?? existing?.chunking.maxTokens ?? defaultChunkTokens(embedder, context),
            overlapTokens: ingest.overlapTokens ?? existing?.chunking.overlapTokens ?? TextChunker.Configuration().overlapTokens,
            joinsWrappedLines: ingest.joinWrappedLines ?? existing?.chunking.joinsWrappedLines
                ?? TextChunker.Configuration.defaultJoinsWrappedLines,
            embedsWordlessChunks: ingest.embedWordlessChunks ?? existing?.chunking.embedsWordlessChunks
                ?? TextChunker.Configuration.defaultEmbedsWordlessChunks)
        var pipeline = IngestPipeline(
            embedder: embedder,
            parser: ParserRegistry(configuration: .init(maximumFileSize: ingest.maxFileMib << 20)),
            chunker: TextChunker(configuration: chunking, tokenCounter: embedder.tokenCounter), store: store,
            configuration: .init(
                embeddingConcurrency: ingest.concurrency, batchSize: ingest.batchSize, checksum: ingest.checksum,
                maxFileSize: Int64(ingest.maxFileMib) << 20, dryRun: ingest.dryRun, skipRules: Self.skipRules))
        pipeline.chunkContext = context
        pipeline.embedderOptions = embedder.identity.name == EmbedderKind.openai.rawValue
            ? embedderOptions.recorded(merging: storedOptions) : [:]

        let index = FileWalker.canonicalPath(db) ?? db
        let ignored = IndexCompanions.all(index).union(IndexCompanions.all(FileWalker.canonicalPath(rebuild) ?? rebuild))

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
            defer { if reembedding { IndexCompanions.remove(rebuild) } }
            report = try await pipeline.run(roots: roots, ignoredPaths: ignored, observer: observer)
            if reembedding && !report.interrupted {
                // The swap: queries saw the old vectors until this transaction commits, and the new ones after.
                let index = try SQLiteIndexStore(path: db, keywordIndexProgress: keywordIndex.progress)
                try await index.replaceContents(withIndexAt: rebuild)
                if let warning = try await index.refreshVectorFile() { Terminal.error("warning: \(warning)") }
            }
        } catch {
            progress.clear()
            out.flush()
            throw Terminal.fail("\(error)")
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

    /// A chunk longer than the embedder's input window would be embedded from its start only: the rest could
    /// never be found. Asking for such chunks is a usage error; an index that already has them (built before
    /// this check) gets a warning with the way out.
    static func checkChunksFit(asked: Int?, stored: Int?, embedder: any Embedder, context: ChunkContext = .none) throws {
        guard let input = embedder.maxInputTokens else { return }
        let model = embedder.identity.model
        // The document prefix and the chunk header are embedded with every chunk: they take their tokens from
        // the chunk's room.
        let window = input - context.reservedTokens
        if window < 8 {
            throw ValidationError(
                "--chunk-context \(context.rawValue) takes up to \(context.reservedTokens) of the \(input) tokens \(model) "
                    + "reads, leaving too few for the text; use --chunk-context none.")
        }
        var takers: [String] = []
        var full = input
        if let prefixed = embedder as? PrefixedEmbedder, prefixed.prefixTokens > 0 {
            takers.append("the document prefix \(EmbedderIdentity.quoted(prefixed.prefix))")
            full += prefixed.prefixTokens
        }
        if context.reservedTokens > 0 {
            takers.append("the chunk header (--chunk-context \(context.rawValue), up to \(context.reservedTokens) tokens)")
        }
        var room = "the input window of \(model), \(window) tokens"
        if !takers.isEmpty {
            room = "the \(window) tokens \(takers.joined(separator: " and ")) \(takers.count == 1 ? "leaves" : "leave") of the "
                + "\(full)-token input window of \(model)"
        }
        if let asked, asked > window {
            throw ValidationError(
                "--chunk-tokens \(asked) is larger than \(room): "
                    + "text past the window would never be embedded. Use --chunk-tokens \(window) or less.")
        }
        if asked == nil, let stored, stored > window {
            Terminal.error(
                "warning: this index has chunks of up to \(stored) tokens, over the \(window)-token input window of "
                    + "\(model), so their ends are not embedded; rebuild with --reembed --chunk-tokens \(window)")
        }
    }

    /// Names this build of embed for remembered skips: the version and the executable's size and modification
    /// time, so that an upgraded or rebuilt embed (whose parsers may read more) looks at skipped files again.
    static let skipRules: String = {
        var info = stat()
        guard stat("/proc/self/exe", &info) == 0 else { return EmbedCommand.configuration.version }
        return "\(EmbedCommand.configuration.version) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }()

    private func defaultChunkTokens(_ embedder: any Embedder, _ context: ChunkContext) -> Int {
        min(TextChunker.Configuration().maxTokens, embedder.maxInputTokens.map { $0 - context.reservedTokens } ?? .max)
    }

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

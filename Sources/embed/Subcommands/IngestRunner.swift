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
        var storedOptions: [String: String] = [:]
        var roots = roots
        let lock: IndexLock?
        // With --reembed, the new index is built here and copied into the index in one transaction at the end.
        let rebuild = SQLiteIndexStore.temporaryName(for: db, marker: ".reembed-")
        let reembedding = ingest.reembed && FileManager.default.fileExists(atPath: db)
        let keywordIndex = KeywordIndexReporter(db: db, quiet: output.quiet, live: output.showsProgress)
        do {
            // A dry run writes nothing, so it needs no lock (and must not create an index).
            lock = ingest.dryRun ? nil : try IndexLock(indexPath: db, wait: ingest.wait)
            if FileManager.default.fileExists(atPath: db) {
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
            try Self.checkChunksFit(asked: ingest.chunkTokens, stored: existing?.chunking.maxTokens, embedder: embedder)
            if ingest.dryRun && !FileManager.default.fileExists(atPath: db) {
                throw StoreError(.cannotOpen, "\(db): no index here yet; a dry run needs one to compare with", path: db)
            }
            // Opening builds the keyword index of an older index, and repairs a damaged one (not in a dry run).
            store = try SQLiteIndexStore(
                path: reembedding ? rebuild : db, keywordIndexProgress: keywordIndex.progress,
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
            maxTokens: ingest.chunkTokens ?? existing?.chunking.maxTokens ?? defaultChunkTokens(embedder),
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
        pipeline.embedderOptions = embedder.identity.name == EmbedderKind.openai.rawValue
            ? embedderOptions.recorded(merging: storedOptions) : [:]

        let index = FileWalker.canonicalPath(db) ?? db
        let ignored = IndexCompanions.all(index).union(IndexCompanions.all(FileWalker.canonicalPath(rebuild) ?? rebuild))

        let progress = ProgressPrinter(enabled: output.showsProgress)
        let out = OutputBuffer()
        let listChanges = ingest.dryRun && !output.json
        let observer = IngestPipeline.Observer(
            diagnostic: { diagnostic in
                progress.clear()
                var shown = diagnostic
                shown.path = DisplayPath.of(diagnostic.path)
                Terminal.error(shown.description)
            },
            progress: progress.update,
            change: { change, path in
                guard listChanges else { return }
                out.line("\(change == .added ? "add" : change == .updated ? "update" : "remove") \(DisplayPath.of(path))")
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
        if output.json {
            out.line(JSONLines.encode(ReportLine(report, dryRun: ingest.dryRun)))
        } else if ingest.dryRun {
            out.line(Self.dryRunSummary(report))
        } else if !output.quiet {
            Terminal.error(Self.summary(report))
        }
        out.flush()
        if report.interrupted { return ExitStatus.interrupted }
        return report.failed > 0 ? ExitStatus.someFilesFailed : ExitStatus.success
    }

    /// A chunk longer than the embedder's input window would be embedded from its start only: the rest could
    /// never be found. Asking for such chunks is a usage error; an index that already has them (built before
    /// this check) gets a warning with the way out.
    static func checkChunksFit(asked: Int?, stored: Int?, embedder: any Embedder) throws {
        guard let window = embedder.maxInputTokens else { return }
        let model = embedder.identity.model
        var room = "the input window of \(model), \(window) tokens"
        if let prefixed = embedder as? PrefixedEmbedder, prefixed.prefixTokens > 0 {
            // The document prefix is embedded with every chunk, so it takes its tokens from the chunk's room.
            room = "the \(window) tokens the document prefix \(EmbedderIdentity.quoted(prefixed.prefix)) leaves of the "
                + "\(window + prefixed.prefixTokens)-token input window of \(model)"
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

    private func defaultChunkTokens(_ embedder: any Embedder) -> Int {
        min(TextChunker.Configuration().maxTokens, embedder.maxInputTokens ?? .max)
    }

    static func dryRunSummary(_ r: IngestReport) -> String {
        "Would add \(r.added), update \(r.updated) and remove \(r.removed) files (\(r.unchanged) unchanged); "
            + "would embed \(r.chunksEmbedded) chunks (\(r.cacheHits) from cache)"
    }

    static func summary(_ r: IngestReport) -> String {
        let indexed = r.added + r.updated + r.unchanged
        var text = "Indexed \(indexed) files: \(r.added) added, \(r.updated) updated, \(r.unchanged) unchanged"
        text += ", \(r.removed) removed; \(r.chunks) chunks stored (\(r.chunksEmbedded) embedded, \(r.cacheHits) from cache"
        text += r.chunksWithoutVector > 0 ? ", \(r.chunksWithoutVector) without words, not embedded)" : ")"
        text += String(format: " in %.2fs", r.seconds)
        var problems: [String] = []
        if r.failed > 0 { problems.append("\(r.failed) failed") }
        if r.skipped > 0 { problems.append("\(r.skipped) skipped") }
        if r.warnings > 0 { problems.append(r.warnings == 1 ? "1 warning" : "\(r.warnings) warnings") }
        if r.interrupted { problems.append("interrupted") }
        // Not a problem now, but not in the index either: said in the summary, never line by line again.
        if r.skippedAsBefore > 0 { problems.append("\(r.skippedAsBefore) skipped as before") }
        return problems.isEmpty ? text : text + "; " + problems.joined(separator: ", ")
    }
}

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
        let job = IngestJob(
            db: db, roots: roots, embedder: try embedderOptions.request(concurrency: ingest.concurrency),
            chunking: ingest.chunking,
            pipeline: .init(
                embeddingConcurrency: ingest.concurrency, batchSize: ingest.batchSize, checksum: ingest.checksum,
                maxFileSize: Int64(ingest.maxFileMib) << 20, dryRun: ingest.dryRun, skipRules: Self.skipRules),
            reembed: ingest.reembed, wait: ingest.wait, keywordIndexUpkeep: rebuildKeywordIndex ? .rebuild : .repairIfNeeded,
            quantization: ingest.quantize, shard: ingest.shard, approximateIndex: ingest.approximateIndex)

        let progress = ProgressPrinter(enabled: output.showsProgress)
        let out = OutputBuffer()
        let (dryRun, json) = (ingest.dryRun, output.json)
        let record = ReportRecord()
        let started = Locked(false)
        let embedder = Locked<(any Embedder)?>(nil)
        let events = IngestJob.Events(
            warning: { Terminal.error("warning: \($0)") }, started: { started.withLock { $0 = true } },
            keywordIndexProgress: keywordIndex.progress,
            pipeline: IngestPipeline.Observer(
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
                    if json {
                        record.add(FileActionLine(path: path, action: action))
                    } else {
                        out.line("\(action) \(DisplayPath.of(path))")
                    }
                },
                shouldStop: { stop.isRequested }))

        let report: IngestReport
        do {
            // Making an embedder may ask the server for its dimension: a stop must not wait for that answer.
            report = try await job.run(events: events) { resolved in
                let made = try await stop.cancelling { try await resolved.makeEmbedder(embedding: .document) }
                embedder.withLock { $0 = made }
                return made
            }
        } catch _ where stop.isRequested && !started.withLock({ $0 }) {
            // Stopped while setting up (say, during the embedder's first request): a stop, not a failure.
            throw Terminal.fail("stopped before anything was written", status: ExitStatus.interrupted)
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
            if let fleet = embedder.withLock({ $0 }).flatMap(Self.fleet), !ingest.dryRun {
                Terminal.error(Self.fleetSummary(fleet.usage))
            }
        }
        if report.interrupted { return ExitStatus.interrupted }
        return report.failed > 0 ? ExitStatus.someFilesFailed : ExitStatus.success
    }

    /// Names this build of embed for remembered skips: the version and the executable's size and modification
    /// time, so that an upgraded or rebuilt embed (whose parsers may read more) looks at skipped files again.
    static let skipRules: String = {
        var info = stat()
        guard stat("/proc/self/exe", &info) == 0 else { return EmbedCommand.configuration.version }
        return "\(EmbedCommand.configuration.version) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }()

    /// The fleet behind `embedder`, prefixes or not; nil for one endpoint or another embedder.
    static func fleet(_ embedder: any Embedder) -> EmbeddingFleet? {
        embedder as? EmbeddingFleet ?? (embedder as? PrefixedEmbedder).flatMap { $0.base as? EmbeddingFleet }
    }

    /// One line saying what each endpoint of a fleet did: `Endpoints: http://a/v1 served 40 requests; ...`.
    static func fleetSummary(_ usage: [EmbeddingFleet.EndpointUsage]) -> String {
        let parts = usage.map { endpoint in
            var text = "\(endpoint.endpoint) served \(counted(endpoint.requestsServed, "request"))"
            if endpoint.failedAttempts > 0 { text += ", \(endpoint.failedAttempts) failed and sent again" }
            if endpoint.timesTakenOut > 0 {
                let times = endpoint.timesTakenOut == 1 ? "once" : "\(endpoint.timesTakenOut) times"
                text += ", taken out \(times)\(endpoint.isOut ? " (still out)" : " (back in)")"
            }
            return text
        }
        return "Endpoints: " + parts.joined(separator: "; ")
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
        if r.otherShards > 0 { problems.append("\(counted(r.otherShards, "file")) left to other shards") }
        return problems.isEmpty ? text : text + "; " + problems.joined(separator: ", ")
    }
}

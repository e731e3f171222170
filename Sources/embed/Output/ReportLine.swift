import EmbedKit

/// The summary of an ingest or reindex, as `--json` prints it.
struct ReportLine: Encodable {
    var added, updated, unchanged, removed, failed, skipped, skipped_as_before, warnings: Int
    var chunks, chunks_embedded, tokens_embedded, cache_hits, chunks_without_vector: Int
    /// Files left to the other shards (`--shard`).
    var other_shards: Int
    var bytes_read: Int64
    var seconds: Double
    var interrupted: Bool
    var dry_run: Bool
    /// Every file problem of the run, in the order reported (at most ``ReportRecord/limit``).
    var diagnostics: [DiagnosticLine]
    /// Diagnostics beyond the limit, counted only.
    var diagnostics_omitted: Int
    /// A dry run's changes, file by file (nil in a real run).
    var files: [FileActionLine]?

    init(_ r: IngestReport, dryRun: Bool, record: ReportRecord) {
        (added, updated, unchanged, removed, failed, skipped, skipped_as_before, warnings) =
            (r.added, r.updated, r.unchanged, r.removed, r.failed, r.skipped, r.skippedAsBefore, r.warnings)
        (chunks, chunks_embedded, tokens_embedded, cache_hits, bytes_read) =
            (r.chunks, r.chunksEmbedded, r.tokensEmbedded, r.cacheHits, r.bytesRead)
        chunks_without_vector = r.chunksWithoutVector
        other_shards = r.otherShards
        seconds = (r.seconds * 1000).rounded() / 1000
        interrupted = r.interrupted
        dry_run = dryRun
        (diagnostics, diagnostics_omitted, files) = record.contents
        if !dryRun { files = nil }
    }
}

/// One diagnostic in the JSON report: the file (empty for the run as a whole), `warning` or `error`, and why.
struct DiagnosticLine: Encodable, Sendable {
    var path: String
    var severity: String
    var message: String
}

/// What a dry run would do to one file: `add`, `update` or `remove`.
struct FileActionLine: Encodable, Sendable {
    var path: String
    var action: String
}

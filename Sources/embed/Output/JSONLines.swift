import EmbedKit
import Foundation

/// JSON for stdout: one compact object per line.
enum JSONLines {
    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The summary of an ingest or reindex, as `--json` prints it.
struct ReportLine: Encodable {
    var added, updated, unchanged, removed, failed, skipped, warnings: Int
    var chunks, chunks_embedded, cache_hits: Int
    var bytes_read: Int64
    var seconds: Double
    var interrupted: Bool
    var dry_run: Bool

    init(_ r: IngestReport, dryRun: Bool) {
        (added, updated, unchanged, removed, failed, skipped, warnings) =
            (r.added, r.updated, r.unchanged, r.removed, r.failed, r.skipped, r.warnings)
        (chunks, chunks_embedded, cache_hits, bytes_read) = (r.chunks, r.chunksEmbedded, r.cacheHits, r.bytesRead)
        seconds = (r.seconds * 1000).rounded() / 1000
        interrupted = r.interrupted
        dry_run = dryRun
    }
}

/// One search result, as `embed query --json` prints it.
struct HitLine: Encodable {
    var query: String
    var rank: Int
    var score: Float
    var path: String
    var chunk_id: Int64
    var ordinal: Int
    var start_offset: Int
    var end_offset: Int
    var line: Int
    var heading_path: [String]
    var title: String?
    var index: String
    var text: String

    init(query: String, hit: SearchHit) {
        self.query = query
        rank = hit.rank
        score = hit.score
        path = hit.chunk.path
        chunk_id = hit.chunk.id
        ordinal = hit.chunk.ordinal
        start_offset = hit.chunk.startOffset
        end_offset = hit.chunk.endOffset
        line = hit.chunk.line
        heading_path = hit.chunk.headingPath
        title = hit.chunk.title
        index = hit.index
        text = hit.chunk.text
    }
}

/// One chunk, as `embed export` prints it.
struct ChunkLine: Encodable {
    var path: String
    var ordinal: Int
    var start_offset: Int
    var end_offset: Int
    var line: Int
    var heading_path: [String]
    var title: String?
    var format: String
    var text: String
    var vector: [Float]?

    init(_ chunk: StoredChunk, vector: [Float]?) {
        path = chunk.path
        ordinal = chunk.ordinal
        start_offset = chunk.startOffset
        end_offset = chunk.endOffset
        line = chunk.line
        heading_path = chunk.headingPath
        title = chunk.title
        format = chunk.format.rawValue
        text = chunk.text
        self.vector = vector
    }
}

/// Paths as the user would type them: relative to the working directory when inside it.
enum DisplayPath {
    static let workingDirectory = FileManager.default.currentDirectoryPath

    static func of(_ path: String) -> String {
        let prefix = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}

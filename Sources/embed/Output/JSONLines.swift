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
    var added, updated, unchanged, removed, failed, skipped, skipped_as_before, warnings: Int
    var chunks, chunks_embedded, tokens_embedded, cache_hits, chunks_without_vector: Int
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

/// Collects, while a run goes, what its JSON report lists.
final class ReportRecord: Sendable {
    /// Diagnostics kept for the report; a run with more (a tree of unreadable files) counts the rest.
    static let limit = 10_000
    private let state = Locked<(diagnostics: [DiagnosticLine], omitted: Int, files: [FileActionLine])>(([], 0, []))

    func add(_ diagnostic: Diagnostic) {
        state.withLock { state in
            guard state.diagnostics.count < Self.limit else { return state.omitted += 1 }
            state.diagnostics.append(
                DiagnosticLine(path: diagnostic.path, severity: diagnostic.severity.rawValue, message: diagnostic.message))
        }
    }

    func add(_ file: FileActionLine) {
        state.withLock { $0.files.append(file) }
    }

    var contents: (diagnostics: [DiagnosticLine], omitted: Int, files: [FileActionLine]?) {
        state.withLock { ($0.diagnostics, $0.omitted, $0.files) }
    }
}

/// One chunk, as `embed export` prints it (and as every search result line includes it).
struct ChunkLine: Encodable {
    var chunk_id: Int64
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

    init(_ chunk: StoredChunk, vector: [Float]? = nil) {
        chunk_id = chunk.id
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

/// One search result, as `embed query --json` prints it: the query, rank, score and index, which rankings
/// found it, where the query's words are, the copies of its text, then the chunk's fields (flattened into the
/// same object). Offsets count Unicode scalars (code points) into the chunk's text.
struct HitLine: Encodable {
    var query: String
    var hit: SearchHit

    private enum CodingKeys: String, CodingKey { case query, rank, score, index, found_by, matches, snippet, copies }

    private struct Place: Encodable {
        var rank: Int
        var score: Float
    }

    private struct SnippetLine: Encodable {
        var text: String
        var start: Int
        var end: Int
    }

    private struct CopyLine: Encodable {
        var index: String
        var path: String
        var chunk_id: Int64
        var line: Int
        var heading_path: [String]
    }

    func encode(to encoder: any Encoder) throws {
        try ChunkLine(hit.chunk).encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(query, forKey: .query)
        try container.encode(hit.rank, forKey: .rank)
        try container.encode(hit.score, forKey: .score)
        try container.encode(hit.index, forKey: .index)
        var found: [String: Place] = [:]
        if let place = hit.vector { found["vector"] = Place(rank: place.rank, score: place.score) }
        if let place = hit.keyword { found["keyword"] = Place(rank: place.rank, score: place.score) }
        try container.encode(found, forKey: .found_by)
        try container.encode(hit.matches.map { [$0.lowerBound, $0.upperBound] }, forKey: .matches)
        let snippet = Snippet(text: hit.chunk.text, matches: hit.matches)
        let scalars = Array(hit.chunk.text.unicodeScalars)[snippet.range]
        try container.encode(
            SnippetLine(
                text: String(String.UnicodeScalarView(scalars)), start: snippet.range.lowerBound,
                end: snippet.range.upperBound), forKey: .snippet)
        try container.encode(
            hit.copies.map {
                CopyLine(
                    index: $0.index, path: $0.chunk.path, chunk_id: $0.chunk.id, line: $0.chunk.line,
                    heading_path: $0.chunk.headingPath)
            }, forKey: .copies)
    }
}

/// Paths as the user would type them: relative to the working directory when inside it.
enum DisplayPath {
    static let workingDirectory = FileManager.default.currentDirectoryPath

    /// The path relative to the working directory when it lies under it, escaped for a terminal.
    static func of(_ path: String) -> String {
        let prefix = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        return escaped(path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path)
    }

    /// `text` with control characters written as escapes (`\n`, `\e`, `\x7f`...): a file name may hold a
    /// newline that fakes a result line, or an escape sequence that clears the screen.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{1B}": result += "\\e"
            default: result += "\\x" + String(scalar.value, radix: 16)
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}

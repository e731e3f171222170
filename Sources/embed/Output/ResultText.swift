import EmbedKit
import Foundation

/// Search results as a terminal shows them: rank, score, place, then the part of the chunk that matches, with
/// the query's words in bold when standard output is a terminal.
struct ResultText {
    /// Whether each result says which index it came from (several were searched).
    var showIndex: Bool
    /// Whether the query's words are set in bold (ANSI); never when the output goes to a file or a pipe.
    var marksMatches: Bool

    /// How many copies of a text are named before "and N more".
    static let copiesNamed = 3

    func print(_ result: QueryResult, to out: OutputBuffer) {
        out.line("query: \(DisplayPath.escaped(result.query))")
        if result.hits.isEmpty { out.line("  (no results)") }
        for hit in result.hits {
            var location = place(hit.chunk)
            if !hit.chunk.headingPath.isEmpty {
                location += "  § " + DisplayPath.escaped(hit.chunk.headingPath.joined(separator: " › "))
            }
            if showIndex { location += "  [\(DisplayPath.of(hit.index))]" }
            out.line(String(format: "%3d. %.3f  ", hit.rank, hit.score) + location)
            out.line("     " + snippet(hit))
            if !hit.copies.isEmpty {
                let named = hit.copies.prefix(Self.copiesNamed).map { place($0.chunk) }.joined(separator: ", ")
                let more = hit.copies.count > Self.copiesNamed ? " and \(hit.copies.count - Self.copiesNamed) more" : ""
                out.line("     also in \(named)\(more)")
            }
        }
        out.line("")
    }

    private func place(_ chunk: StoredChunk) -> String { "\(DisplayPath.of(chunk.path)):\(chunk.line)" }

    /// The snippet on one line: runs of white space become one space, control characters a space, and a cut
    /// at either end an ellipsis.
    func snippet(_ hit: SearchHit) -> String {
        let snippet = Snippet(text: hit.chunk.text, matches: hit.matches)
        let scalars = Array(hit.chunk.text.unicodeScalars)
        var starts = Set<Int>()
        var ends = Set<Int>()
        if marksMatches {
            for match in Self.joined(snippet.matches, in: scalars) {
                starts.insert(match.lowerBound)
                ends.insert(match.upperBound)
            }
        }
        var line = String.UnicodeScalarView()
        if snippet.range.lowerBound > 0 { line.append(contentsOf: "… ".unicodeScalars) }
        let start = line.count
        var pendingSpace = false
        for offset in snippet.range {
            if ends.contains(offset) { line.append(contentsOf: "\u{1B}[22m".unicodeScalars) }
            let scalar = scalars[offset]
            if scalar.properties.isWhitespace || scalar.properties.generalCategory == .control {
                pendingSpace = line.count > start
            } else {
                if pendingSpace { line.append(" ") }
                pendingSpace = false
                if starts.contains(offset) { line.append(contentsOf: "\u{1B}[1m".unicodeScalars) }
                line.append(scalar)
            }
        }
        if ends.contains(snippet.range.upperBound) { line.append(contentsOf: "\u{1B}[22m".unicodeScalars) }
        if snippet.range.upperBound < scalars.count { line.append(contentsOf: " …".unicodeScalars) }
        return String(line)
    }

    /// Matches with nothing but punctuation between them joined into one: FTS5 reads "pg_dump" as two words,
    /// but the reader sees one.
    static func joined(_ matches: [Range<Int>], in scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var joined: [Range<Int>] = []
        for match in matches.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = joined.last, last.upperBound <= match.lowerBound,
                match.lowerBound - last.upperBound <= 2,
                scalars[last.upperBound..<match.lowerBound].allSatisfy({ !$0.properties.isWhitespace })
            {
                joined[joined.count - 1] = last.lowerBound..<match.upperBound
            } else {
                joined.append(match)
            }
        }
        return joined
    }
}

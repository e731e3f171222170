import Foundation

/// One search result, as `embed query --json` prints it: the query, rank, score and index, which rankings
/// found it, where the query's words are, the copies of its text, then the chunk's fields (flattened into the
/// same object). Offsets count Unicode scalars (code points) into the chunk's text.
public struct HitLine: Encodable, Sendable {
    public var query: String
    public var hit: SearchHit

    public init(query: String, hit: SearchHit) {
        self.query = query
        self.hit = hit
    }

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

    public func encode(to encoder: any Encoder) throws {
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

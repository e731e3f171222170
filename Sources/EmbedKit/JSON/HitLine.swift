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

    /// The line as ``JSONLines/encode(_:)`` writes it, byte for byte, without `JSONEncoder`: what search prints
    /// and serves for every result.
    public var jsonLine: String {
        let chunk = hit.chunk
        var json = JSONWriter(capacity: chunk.text.utf8.count * 2 + 512)
        json.object { json in
            // Keys in sorted order, ChunkLine's and this line's together.
            json.key("chunk_id"); json.integer(chunk.id)
            json.key("copies")
            json.array(hit.copies) { json, copy in
                json.object { json in
                    json.key("chunk_id"); json.integer(copy.chunk.id)
                    json.key("heading_path"); json.array(copy.chunk.headingPath) { $0.string($1) }
                    json.key("index"); json.string(copy.index)
                    json.key("line"); json.integer(copy.chunk.line)
                    json.key("path"); json.string(copy.chunk.path)
                }
            }
            json.key("end_offset"); json.integer(chunk.endOffset)
            json.key("format"); json.string(chunk.format.rawValue)
            json.key("found_by")
            json.object { json in
                for (name, place) in [("keyword", hit.keyword), ("vector", hit.vector)] as [(StaticString, RankingPlace?)] {
                    guard let place else { continue }
                    json.key(name)
                    json.object { json in
                        json.key("rank"); json.integer(place.rank)
                        json.key("score"); json.float(place.score)
                    }
                }
            }
            json.key("heading_path"); json.array(chunk.headingPath) { $0.string($1) }
            json.key("index"); json.string(hit.index)
            json.key("line"); json.integer(chunk.line)
            json.key("matches")
            json.array(hit.matches) { json, range in json.array([range.lowerBound, range.upperBound]) { $0.integer($1) } }
            json.key("ordinal"); json.integer(chunk.ordinal)
            json.key("path"); json.string(chunk.path)
            json.key("query"); json.string(query)
            json.key("rank"); json.integer(hit.rank)
            json.key("score"); json.float(hit.score)
            json.key("snippet")
            let snippet = Snippet(text: chunk.text, matches: hit.matches)
            let scalars = chunk.text.unicodeScalars
            let lower = scalars.index(scalars.startIndex, offsetBy: snippet.range.lowerBound)
            let upper = scalars.index(lower, offsetBy: snippet.range.count)
            json.object { json in
                json.key("end"); json.integer(snippet.range.upperBound)
                json.key("start"); json.integer(snippet.range.lowerBound)
                json.key("text"); json.string(String(scalars[lower..<upper]))
            }
            json.key("start_offset"); json.integer(chunk.startOffset)
            json.key("text"); json.string(chunk.text)
            if let title = chunk.title {
                json.key("title"); json.string(title)
            }
        }
        return json.text
    }
}

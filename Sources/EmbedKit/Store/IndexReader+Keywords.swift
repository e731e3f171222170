/// One chunk found by keyword search.
public struct KeywordRow: Sendable, Equatable {
    public var chunkID: Int64
    public var documentID: Int64
    /// BM25, negated from FTS5's so that higher is better, as with similarities.
    public var score: Double
}

/// Keyword search over the index's FTS5 table `chunks_fts` (chunk text, and heading path at half the weight).
extension IndexReader {
    /// BM25 with the text column weighing twice the heading path: a heading names a whole section, so a word
    /// there says less about one chunk than the same word in its text.
    private static let bm25 = "bm25(chunks_fts, 2.0, 1.0)"

    /// True when the index has its keyword table (an index last written by an older embed may not).
    public func hasKeywordIndex() throws -> Bool {
        let statement = try connection.prepare(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'chunks_fts'")
        return try statement.step() && statement.int(0) > 0
    }

    /// The `limit` chunks that best match `text` by BM25, best first. Empty when `text` has no word.
    public func keywordSearch(_ text: String, limit: Int) throws -> [(chunkID: Int64, score: Double)] {
        guard let expression = KeywordQuery.expression(for: text) else { return [] }
        return try keywordRanking(expression, limit: limit, acceptDocument: nil).map { ($0.chunkID, $0.score) }
    }

    /// The `limit` best chunks for the FTS5 `expression` (from ``KeywordQuery``) whose documents
    /// `acceptDocument` takes, best first; ties by chunk id.
    public func keywordRanking(
        _ expression: String, limit: Int, acceptDocument: ((Int64) -> Bool)?
    ) throws -> [KeywordRow] {
        guard limit > 0 else { return [] }
        let statement = try connection.prepare(
            """
            SELECT m.id, m.score, c.document_id FROM
                (SELECT rowid AS id, \(Self.bm25) AS score FROM chunks_fts WHERE chunks_fts MATCH ?1) m
            JOIN chunks c ON c.id = m.id ORDER BY m.score, m.id
            """)
        statement.bind([.text(expression)])
        var rows: [KeywordRow] = []
        // Rows come sorted; stepping stops once enough documents passed the filter.
        while rows.count < limit, try statement.step() {
            let document = statement.int(2)
            if let acceptDocument, !acceptDocument(document) { continue }
            rows.append(KeywordRow(chunkID: statement.int(0), documentID: document, score: -statement.double(1)))
        }
        return rows
    }

    /// The BM25 score of each of `ids` that matches `expression` (the others hold none of its words).
    public func keywordScores(_ expression: String, ids: some Sequence<Int64>) throws -> [Int64: Double] {
        let statement = try connection.prepare(
            "SELECT \(Self.bm25) FROM chunks_fts WHERE chunks_fts MATCH ?1 AND rowid = ?2")
        var scores: [Int64: Double] = [:]
        for id in ids {
            statement.bind([.text(expression), .int(id)])
            if try statement.step() { scores[id] = -statement.double(0) }
        }
        return scores
    }

    /// Where the words of `expression` occur in each chunk's text, as FTS5 finds them (stems included): ranges
    /// of Unicode scalar offsets. A chunk whose stored text is no longer `text` (a writer replaced it since it
    /// was read) or that holds none of the words is left out.
    public func keywordMatches(
        _ expression: String, chunks: some Sequence<(id: Int64, text: String)>
    ) throws -> [Int64: [Range<Int>]] {
        let statement = try connection.prepare(
            "SELECT highlight(chunks_fts, 0, char(1), char(2)) FROM chunks_fts WHERE chunks_fts MATCH ?1 AND rowid = ?2")
        var found: [Int64: [Range<Int>]] = [:]
        for chunk in chunks {
            statement.bind([.text(expression), .int(chunk.id)])
            guard try statement.step() else { continue }
            if let ranges = Self.ranges(marked: statement.text(0), original: chunk.text), !ranges.isEmpty {
                found[chunk.id] = ranges
            }
        }
        return found
    }

    /// The marked ranges of `marked` (each between U+0001 and U+0002), or nil when removing the marks does not
    /// give back `original` (the text itself held a mark character, so the marks cannot be trusted).
    static func ranges(marked: String, original: String) -> [Range<Int>]? {
        var ranges: [Range<Int>] = []
        var plain = String.UnicodeScalarView()
        var start: Int?
        var offset = 0
        for scalar in marked.unicodeScalars {
            switch scalar {
            case "\u{1}":
                guard start == nil else { return nil }
                start = offset
            case "\u{2}":
                guard let begin = start else { return nil }
                if begin < offset { ranges.append(begin..<offset) }
                start = nil
            default:
                plain.append(scalar)
                offset += 1
            }
        }
        guard start == nil, plain.elementsEqual(original.unicodeScalars) else { return nil }
        return ranges
    }
}

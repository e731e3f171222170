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

    /// Why the keyword index cannot be searched, or nil when it can: `.noKeywordIndex` for an index last written
    /// by an embed without keyword search, another code when it is missing or damaged.
    public func keywordIndexUnusable() throws -> StoreError? {
        let cure = "run `embed reindex --db \(path)` to build it"
        switch try keywordIndexState() {
        case .ready:
            return nil
        case .missing where !(try Migrations.checkKnown(connection).contains(KeywordIndex.migration)):
            return StoreError(
                .noKeywordIndex, "\(path) has no keyword index yet (it was last written by an older embed); \(cure)",
                path: path)
        case .missing:
            return StoreError(.corrupt, "\(path): the keyword index (table chunks_fts) is missing; \(cure)", path: path)
        case .damaged(let reason):
            return StoreError(.corrupt, "\(path): the keyword index is damaged: \(reason); \(cure)", path: path)
        }
    }

    /// The `limit` chunks that best match `text` by BM25, best first. Empty when `text` has no word.
    public func keywordSearch(_ text: String, limit: Int) throws -> [(chunkID: Int64, score: Double)] {
        guard let expression = KeywordQuery.expression(for: text) else { return [] }
        return try keywordRanking(expression, limit: limit, acceptDocument: nil).rows.map { ($0.chunkID, $0.score) }
    }

    /// The `limit` best chunks for the FTS5 `expression` (from ``KeywordQuery``) whose documents
    /// `acceptDocument` takes, best first (ties by chunk id), and the BM25 of each of `alsoScoring` that matches
    /// at all (the others hold none of the words).
    ///
    /// One pass over the matches: FTS5 computes a term's document frequency by reading its whole posting list,
    /// once per statement, so a statement per chunk would pay that again for every chunk.
    public func keywordRanking(
        _ expression: String, limit: Int, acceptDocument: ((Int64) -> Bool)?, alsoScoring wanted: Set<Int64> = []
    ) throws -> (rows: [KeywordRow], scores: [Int64: Double]) {
        guard limit > 0 || !wanted.isEmpty else { return ([], [:]) }
        // Ranked without touching `chunks`: joining it before the sort read the row (and so the text) of every
        // chunk that holds any of the words, most of the index for a question full of common words. A chunk's
        // document is looked up only for the rows taken.
        let statement = try connection.prepare(
            """
            SELECT rowid, \(Self.bm25) AS score FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY score, rowid
            """)
        statement.bind([.text(expression)])
        let documentOf = try connection.prepare("SELECT document_id FROM chunks WHERE id = ?1")
        var rows: [KeywordRow] = []
        var scores: [Int64: Double] = [:]
        // Rows come sorted; stepping stops once `limit` passed the filter and every wanted chunk was seen.
        while rows.count < limit || scores.count < wanted.count, try statement.step() {
            let id = statement.int(0)
            let score = -statement.double(1)
            if wanted.contains(id) { scores[id] = score }
            guard rows.count < limit else { continue }
            documentOf.bind([.int(id)])
            // A row of the keyword index without its chunk (never, short of damage) is passed over.
            guard try documentOf.step() else { continue }
            let document = documentOf.int(0)
            if let acceptDocument, !acceptDocument(document) { continue }
            rows.append(KeywordRow(chunkID: id, documentID: document, score: score))
        }
        return (rows, scores)
    }
}

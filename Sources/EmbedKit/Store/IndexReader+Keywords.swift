/// One chunk found by keyword search.
public struct KeywordRow: Sendable, Equatable {
    public var chunkID: Int64
    public var documentID: Int64
    /// BM25, negated from FTS5's so that higher is better, as with similarities.
    public var score: Double
}

/// Keyword search over the index's FTS5 table `chunks_fts` (chunk text, and heading path at half the weight).
extension IndexReader {
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
        try keywordRanking(KeywordQuery.words(in: text), limit: limit, acceptDocument: nil).rows.map { ($0.chunkID, $0.score) }
    }

    /// The `limit` best chunks for `words` (from ``KeywordQuery``) whose documents `acceptDocument` takes, best
    /// first (ties by chunk id), and the BM25 of each of `alsoScoring` that matches at all (the others hold none
    /// of the words).
    ///
    /// A reader that shares keyword postings (``keywordCache``) ranks from them; otherwise, or when a word is
    /// not one token to FTS5, FTS5 ranks. Both give the same scores, to the bit (see ``KeywordPostings``).
    public func keywordRanking(
        _ words: [String], limit: Int, acceptDocument: ((Int64) -> Bool)?, alsoScoring wanted: Set<Int64> = []
    ) throws -> (rows: [KeywordRow], scores: [Int64: Double]) {
        guard let expression = KeywordQuery.expression(ofWords: words), limit > 0 || !wanted.isEmpty else {
            return ([], [:])
        }
        return try IndexFile.inReadTransaction(connection) {
            if let postings = try keywordPostings(), let tokens = try KeywordIndex.singleTokens(of: words, on: connection),
                let scored = try postings.rank(tokens: tokens, connection: connection),
                try postings.agreesWithFTS5(scored, expression: expression, connection: connection)
            {
                keywordRankingsFromPostings += 1
                var scores: [Int64: Double] = [:]
                for id in wanted { scores[id] = scored.score(of: id) }
                var ranked = scored.rows.makeIterator()
                let rows = try taking(limit, from: { ranked.next() }, acceptDocument: acceptDocument)
                return (rows, scores)
            }
            return try ftsRanking(expression, limit: limit, acceptDocument: acceptDocument, alsoScoring: wanted)
        }
    }

    /// The ranking by FTS5's own `bm25()`: one pass over the matches. FTS5 computes a term's document frequency
    /// by reading its whole posting list, once per statement, so a statement per chunk would pay that again for
    /// every chunk.
    private func ftsRanking(
        _ expression: String, limit: Int, acceptDocument: ((Int64) -> Bool)?, alsoScoring wanted: Set<Int64>
    ) throws -> (rows: [KeywordRow], scores: [Int64: Double]) {
        // Ranked without touching `chunks`: joining it before the sort read the row (and so the text) of every
        // chunk that holds any of the words, most of the index for a question full of common words. A chunk's
        // document is looked up only for the rows taken.
        let statement = try connection.prepare(
            """
            SELECT rowid, \(KeywordIndex.bm25) AS score FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY score, rowid
            """)
        statement.bind([.text(expression)])
        var scores: [Int64: Double] = [:]
        var unseen = wanted
        // Rows come sorted; stepping stops once `limit` passed the filter and every wanted chunk was seen.
        let rows = try taking(
            limit,
            from: { () throws -> (chunkID: Int64, score: Double)? in
                guard try statement.step() else { return nil }
                let row = (chunkID: statement.int(0), score: -statement.double(1))
                if unseen.remove(row.chunkID) != nil { scores[row.chunkID] = row.score }
                return row
            }, acceptDocument: acceptDocument, alsoUntil: { unseen.isEmpty })
        return (rows, scores)
    }

    /// The first `limit` rows of a ranking whose documents `acceptDocument` takes; reads on past them while
    /// `alsoUntil` is false.
    private func taking(
        _ limit: Int, from next: () throws -> (chunkID: Int64, score: Double)?, acceptDocument: ((Int64) -> Bool)?,
        alsoUntil done: () -> Bool = { true }
    ) throws -> [KeywordRow] {
        let documentOf = try connection.prepare("SELECT document_id FROM chunks WHERE id = ?1")
        var rows: [KeywordRow] = []
        while rows.count < limit || !done(), let (id, score) = try next() {
            guard rows.count < limit else { continue }
            documentOf.bind([.int(id)])
            // A row of the keyword index without its chunk (never, short of damage) is passed over.
            guard try documentOf.step() else { continue }
            let document = documentOf.int(0)
            if let acceptDocument, !acceptDocument(document) { continue }
            rows.append(KeywordRow(chunkID: id, documentID: document, score: score))
        }
        return rows
    }

    /// The keyword postings of the index as this snapshot sees it, when this reader shares them; read now if
    /// no reader has read this generation yet.
    private func keywordPostings() throws -> KeywordPostings? {
        // A reader without locks (immutable) may see a state torn by a writer: it ranks with FTS5.
        guard let keywordCache, immutableStamp == nil, let indexID = try IndexFile.indexID(connection) else {
            return nil
        }
        let generation = try IndexFile.generation(connection)
        if let held = keywordCache.value(indexID: indexID, generation: generation),
            held.schemaVersion == (try KeywordPostings.schemaVersion(connection))
        {
            return held
        }
        guard let loaded = try KeywordPostings.load(connection) else { return nil }
        keywordCache.keep(loaded, indexID: indexID, generation: generation)
        return loaded
    }
}

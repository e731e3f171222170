import Foundation

extension PostgresReader {
    /// Rows the vector ranking asks pgvector for beyond `depth`: its float arithmetic may order near-ties
    /// differently from embed's exact scores, which re-rank them.
    static let rescoreMargin = 32

    /// One index's candidates for every query, as ``IndexSearch`` ranks them: the vector ranking from pgvector
    /// (exact scan; the HNSW index when the index has one) re-scored exactly, the keyword ranking from
    /// PostgreSQL's full-text search, filters in the SQL.
    func candidates(
        _ query: IndexSearch.PreparedQueries, position: Int, depth: Int, options: SearchOptions
    ) throws -> IndexSearch.IndexCandidates {
        let path = location.display
        return try snapshot {
            let none = IndexSearch.IndexCandidates(perQuery: query.texts.map { _ in [] }, truncated: false)
            guard try !PostgresSchema.applied(connection).isEmpty, let settings = try PostgresIndexMeta.settings(connection)
            else { return none }
            try IndexSearch.checkIdentity(settings, query.identity, path: path)
            let filter = try sqlFilter(options.filter)
            var truncated = false

            var vectorHits: [[(id: Int64, score: Float)]] = query.texts.map { _ in [] }
            if let vectors = query.vectors {
                // The HNSW graph when the index keeps one, for unfiltered searches (pgvector filters after the
                // graph search, which could leave fewer than `depth`); else the exact scan.
                let dimension = settings.embedder.dimension
                let ann = try PostgresIndexMeta.approximateIndex(connection)
                let approximate = ann.kind == .hnsw && options.scan == .auto && options.filter.acceptsEveryDocument
                let order: String
                if approximate {
                    try connection.execute("SET LOCAL hnsw.ef_search = \(ann.efSearch(depth: depth))")
                    order = "(c.embedding::vector(\(dimension))) <#> $1::vector(\(dimension))"
                } else {
                    order = "c.embedding <#> $1::vector, c.id"
                }
                for (q, vector) in vectors.enumerated() {
                    let limit = depth + Self.rescoreMargin
                    let rows = try connection.query(
                        "SELECT c.id, c.embedding FROM chunks c\(filter.join) "
                            + "WHERE c.embedding IS NOT NULL\(filter.clause(from: 3)) ORDER BY \(order) LIMIT $2",
                        [.vector(vector), .int(Int64(limit))] + filter.values)
                    var scored: [(id: Int64, score: Double)] = []
                    for row in 0..<rows.count {
                        guard let embedding = rows.vector(row, 1), embedding.count == vector.count else { continue }
                        let score = ExactSearch.exactScore(vector, embedding)
                        if let minScore = options.filter.minScore, score < Double(minScore) { continue }
                        scored.append((rows.int(row, 0), score))
                    }
                    scored.sort { RankingOrder.ranksBefore($0.score, $1.score, tiesBrokenBy: $0.id < $1.id) }
                    vectorHits[q] = scored.prefix(depth).map { ($0.id, Float($0.score)) }
                    truncated = truncated || rows.count == limit
                }
            }

            var keywordRows: [[KeywordRow]] = query.texts.map { _ in [] }
            var keywordScores: [[Int64: Double]] = query.texts.map { _ in [:] }
            if options.mode.usesKeywords {
                for (q, words) in query.words.enumerated() where !words.isEmpty {
                    let search = Self.websearch(words)
                    let rows = try connection.query(
                        "SELECT c.id, c.document_id, ts_rank_cd(c.search, q)::float8 AS score "
                            + "FROM websearch_to_tsquery('english', $1) q, chunks c\(filter.join) "
                            + "WHERE c.search @@ q\(filter.clause(from: 3)) ORDER BY score DESC, c.id LIMIT $2",
                        [.text(search), .int(Int64(depth))] + filter.values)
                    keywordRows[q] = (0..<rows.count).map {
                        KeywordRow(chunkID: rows.int($0, 0), documentID: rows.int($0, 1), score: rows.double($0, 2))
                    }
                    truncated = truncated || rows.count == depth
                    // In hybrid mode the vector ranking's finds need their keyword score too, for the fusion.
                    let wanted = vectorHits[q].map(\.id)
                    if options.mode == .hybrid, !wanted.isEmpty {
                        let scores = try connection.query(
                            "SELECT c.id, ts_rank_cd(c.search, q)::float8 FROM websearch_to_tsquery('english', $1) q, chunks c "
                                + "WHERE c.id = ANY($2::bigint[]) AND c.search @@ q",
                            [.text(search), .text(Self.idArray(wanted))])
                        for row in 0..<scores.count { keywordScores[q][scores.int(row, 0)] = scores.double(row, 1) }
                    }
                }
            }

            // The similarity of the keyword ranking's finds, for the fusion and the score floor.
            var similarity: [[Int64: Float]] = query.texts.map { _ in [:] }
            if let vectors = query.vectors, options.mode == .hybrid {
                let wanted = Set(keywordRows.joined().map(\.chunkID))
                if !wanted.isEmpty {
                    let rows = try connection.query(
                        "SELECT id, embedding FROM chunks WHERE id = ANY($1::bigint[]) AND embedding IS NOT NULL",
                        [.text(Self.idArray(Array(wanted)))])
                    var found: [Int64: [Float]] = [:]
                    for row in 0..<rows.count { found[rows.int(row, 0)] = rows.vector(row, 1) }
                    for q in query.texts.indices {
                        for hit in keywordRows[q] {
                            if let vector = found[hit.chunkID] {
                                similarity[q][hit.chunkID] = Float(ExactSearch.exactScore(vectors[q], vector))
                            }
                        }
                    }
                }
            }

            let chunks = try chunks(ids: Array(IndexSearch.chunkIDs(vectorHits, keywordRows)))
            return IndexSearch.IndexCandidates(
                perQuery: IndexSearch.candidates(
                    path: path, position: position, vectorHits: vectorHits, keywordRows: keywordRows,
                    keywordScores: keywordScores, similarity: similarity, chunks: chunks),
                truncated: truncated, occupiedPathPrefixes: try occupied(options.filter.pathPrefixes))
        }
    }

    /// A filter as SQL on `d` (documents): path prefixes and formats as conditions; path globs, which SQL cannot
    /// match as embed does, as the ids of the documents they accept.
    struct SQLFilter {
        var conditions: [(sql: String, value: PostgresValue)] = []
        var values: [PostgresValue] { conditions.map(\.value) }
        /// The join the conditions need (on `documents d`), none when there are none.
        var join: String { conditions.isEmpty ? "" : " JOIN documents d ON d.id = c.document_id" }

        /// ` AND ...` with parameters numbered from `first`; empty when the filter accepts every document.
        func clause(from first: Int) -> String {
            conditions.enumerated().map { " AND " + $1.sql.replacing("$?", with: "$\(first + $0)") }.joined()
        }
    }

    private func sqlFilter(_ filter: SearchFilter) throws -> SQLFilter {
        var result = SQLFilter()
        guard !filter.acceptsEveryDocument else { return result }
        if !filter.pathPrefixes.isEmpty {
            // Under a prefix: the prefix itself, or the prefix and a slash before the rest.
            result.conditions.append((
                "EXISTS (SELECT 1 FROM unnest($?::text[]) p WHERE d.path = p OR left(d.path, length(p) + 1) = p || '/')",
                .textArray(filter.pathPrefixes)
            ))
        }
        if !filter.formats.isEmpty {
            result.conditions.append(("d.format = ANY($?::text[])", .textArray(filter.formats.map(\.rawValue).sorted())))
        }
        if !filter.pathGlobs.isEmpty {
            let roots = try PostgresIndexMeta.roots(connection).map(\.path)
            let documents = try connection.query("SELECT id, path, format FROM documents")
            let accepted = (0..<documents.count).filter { row in
                filter.accepts(
                    path: documents.text(row, 1), format: DocumentFormat(rawValue: documents.text(row, 2)) ?? .text,
                    roots: roots)
            }.map { documents.int($0, 0) }
            result.conditions.append(("d.id = ANY($?::bigint[])", .text(Self.idArray(accepted))))
        }
        return result
    }

    /// The prefixes some document lies under.
    private func occupied(_ prefixes: [String]) throws -> Set<String> {
        var found = Set<String>()
        for prefix in prefixes {
            let rows = try connection.query(
                "SELECT 1 FROM documents WHERE path = $1 OR left(path, length($1) + 1) = $1 || '/' LIMIT 1", [.text(prefix)])
            if rows.count > 0 { found.insert(prefix) }
        }
        return found
    }

    /// The query's words as `websearch_to_tsquery` input: each quoted (so no word is read as an operator), joined
    /// by `or`, as the SQLite index's keyword query ORs them.
    static func websearch(_ words: [String]) -> String {
        words.map { "\"" + $0.replacing("\"", with: " ") + "\"" }.joined(separator: " or ")
    }

    static func idArray(_ ids: [Int64]) -> String {
        "{" + ids.map(String.init).joined(separator: ",") + "}"
    }
}

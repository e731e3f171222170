/// A chunk that one of the rankings found for a query, with its scores in both.
struct Candidate: Sendable {
    var index: String
    /// The index's position among those searched: the tie-breaker between indexes.
    var indexPosition: Int
    var chunk: StoredChunk
    /// Cosine similarity to the query, when vectors are searched.
    var similarity: Float?
    /// BM25, when keywords are searched and the chunk holds at least one of the query's words.
    var keywordScore: Float?
    /// Whether the chunk is among the best of the vector ranking, of the keyword ranking.
    var foundByVector: Bool
    var foundByKeyword: Bool
}

/// One query's candidates from every index, turned into the final list: the rankings (merged over indexes),
/// their fusion, the score floor, grouping by document, copies collapsed, the first `k`.
enum HybridRanking {
    static func results(_ candidates: [Candidate], options: SearchOptions) -> [SearchHit] {
        func before(_ a: Candidate, _ b: Candidate) -> Bool {
            (a.indexPosition, a.chunk.id) < (b.indexPosition, b.chunk.id)
        }
        let vector = candidates.indices.filter { candidates[$0].foundByVector }.sorted { a, b in
            let (x, y) = (candidates[a], candidates[b])
            return RankingOrder.ranksBefore(x.similarity!, y.similarity!, tiesBrokenBy: before(x, y))
        }
        let keyword = candidates.indices.filter { candidates[$0].foundByKeyword }.sorted { a, b in
            let (x, y) = (candidates[a], candidates[b])
            return RankingOrder.ranksBefore(x.keywordScore!, y.keywordScore!, tiesBrokenBy: before(x, y))
        }
        var vectorRank = [Int: Int]()
        for (rank, i) in vector.enumerated() { vectorRank[i] = rank + 1 }
        var keywordRank = [Int: Int]()
        for (rank, i) in keyword.enumerated() { keywordRank[i] = rank + 1 }

        let order: [Int]
        var score = [Float](repeating: 0, count: candidates.count)
        switch options.mode {
        case .vector:
            order = vector
            for i in vector { score[i] = candidates[i].similarity! }
        case .keyword:
            order = keyword
            for i in keyword { score[i] = candidates[i].keywordScore! }
        case .hybrid:
            let found = candidates.indices.filter { vectorRank[$0] != nil || keywordRank[$0] != nil }
            score = fused(candidates, found: found, vectorRank: vectorRank, keywordRank: keywordRank, options.fusion)
            order = found.sorted { a, b in
                RankingOrder.ranksBefore(
                    score[a], score[b],
                    tiesBrokenBy: (vectorRank[a] ?? .max, keywordRank[a] ?? .max, a)
                        < (vectorRank[b] ?? .max, keywordRank[b] ?? .max, b))
            }
        }

        var hits: [SearchHit] = []
        var documents = Set<DocumentKey>()
        var byText: [String: Int] = [:]
        for i in order {
            let candidate = candidates[i]
            if let floor = options.filter.minScore {
                // The floor is on the similarity, as in vector mode, or on BM25 in keyword mode.
                let floored = options.mode == .keyword ? candidate.keywordScore : candidate.similarity
                if (floored ?? -.infinity) < floor { continue }
            }
            if options.grouping == .document,
                !documents.insert(DocumentKey(index: candidate.indexPosition, path: candidate.chunk.path)).inserted
            {
                continue
            }
            if options.collapseCopies, let first = byText[candidate.chunk.text] {
                hits[first].copies.append(HitCopy(index: candidate.index, chunk: candidate.chunk))
                continue
            }
            guard hits.count < options.k else {
                // A later copy of a result already taken still belongs to it; nothing else does.
                if options.collapseCopies { continue } else { break }
            }
            byText[candidate.chunk.text] = hits.count
            hits.append(
                SearchHit(
                    rank: hits.count + 1, score: score[i], index: candidate.index, chunk: candidate.chunk,
                    vector: vectorRank[i].map { RankingPlace(rank: $0, score: candidate.similarity!) },
                    keyword: keywordRank[i].map { RankingPlace(rank: $0, score: candidate.keywordScore!) }))
        }
        return hits
    }

    private struct DocumentKey: Hashable {
        var index: Int
        var path: String
    }

    /// The fused score of each of `found` (the others stay 0).
    static func fused(
        _ candidates: [Candidate], found: [Int], vectorRank: [Int: Int], keywordRank: [Int: Int], _ fusion: Fusion
    ) -> [Float] {
        var score = [Float](repeating: 0, count: candidates.count)
        switch fusion {
        case .reciprocalRank(let constant, let weight):
            for i in found {
                var s = 0.0
                if let r = vectorRank[i] { s += weight / (constant + Double(r)) }
                if let r = keywordRank[i] { s += (1 - weight) / (constant + Double(r)) }
                score[i] = Float(s)
            }
        case .linear(let weight):
            // Every candidate has a similarity (computed for keyword finds too) and a BM25 (0: none of the words),
            // except a chunk without words, which has no vector: it gets the lowest similarity of the candidates,
            // so that the vector side gives it nothing (rescaled 0) and takes nothing from it.
            let lowest = found.compactMap { candidates[$0].similarity }.min().map(Double.init) ?? 0
            let similarity = found.map { candidates[$0].similarity.map(Double.init) ?? lowest }
            let keyword = found.map { Double(candidates[$0].keywordScore ?? 0) }
            let s = rescaled(similarity)
            let k = rescaled(keyword)
            for (n, i) in found.enumerated() { score[i] = Float(weight * s[n] + (1 - weight) * k[n]) }
        }
        return score
    }

    /// `values` mapped linearly onto 0...1. When they are all equal each is the best there is: 1 when
    /// positive (a lone match must not score 0), else 0 (no keyword matched).
    static func rescaled(_ values: [Double]) -> [Double] {
        guard let low = values.min(), let high = values.max(), high > low else {
            return values.map { $0 > 0 ? 1 : 0 }
        }
        return values.map { ($0 - low) / (high - low) }
    }
}

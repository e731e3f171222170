@testable import EmbedKit
import Testing

@Suite("Ranking order")
struct RankingOrderTests {
    @Test("the higher score first; equal scores by the tie-breakers, the lower first")
    func order() {
        // (score, index position, chunk id), shuffled.
        let results: [(Float, Int, Int64)] = [(0.5, 1, 7), (0.9, 0, 3), (0.5, 0, 9), (0.5, 0, 2), (0.1, 0, 1)]
        let ranked = results.sorted { a, b in
            RankingOrder.ranksBefore(a.0, b.0, tiesBrokenBy: (a.1, a.2) < (b.1, b.2))
        }
        #expect(ranked.map(\.2) == [3, 2, 9, 7, 1])
    }

    @Test("the tie-breakers are not consulted when the scores differ")
    func lazyTies() {
        var consulted = false
        func tie() -> Bool {
            consulted = true
            return true
        }
        // Evaluated outside #expect, which would evaluate the argument itself to show it.
        let lower = RankingOrder.ranksBefore(0.1, 0.2, tiesBrokenBy: tie())
        let higher = RankingOrder.ranksBefore(0.2, 0.1, tiesBrokenBy: tie())
        #expect(!lower && higher && !consulted)
        let equal = RankingOrder.ranksBefore(0.2, 0.2, tiesBrokenBy: tie())
        #expect(equal && consulted)
    }

    @Test("the top k and the exact re-scoring break equal scores by the lower row")
    func rows() {
        var top = TopK(k: 3)
        for row in [4, 2, 8, 0, 6] { top.insert(ScoredRow(row: row, score: 1)) }
        #expect(top.sorted().map(\.row) == [0, 2, 4])

        let matrix = VectorMatrix(dimension: 1, ids: [10, 11, 12, 13], values: [1, 1, 2, 1])
        let kept = ExactSearch.rescore(
            [3, 0, 1, 2].map { ScoredRow(row: $0, score: 1) }, query: [1], matrix: matrix, k: 3, margin: 0,
            minScore: nil)
        #expect(kept.map(\.row) == [2, 0, 1])
    }
}

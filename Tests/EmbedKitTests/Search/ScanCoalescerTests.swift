@testable import EmbedKit
import Testing

@Suite("ScanCoalescer")
struct ScanCoalescerTests {
    @Test("concurrent searches share passes over the vectors, and each gets exactly what it would alone")
    func sharedPassesChangeNothing() async {
        let fixture = ExactSearchTests()
        let matrix = fixture.randomMatrix(rows: 8_000, dimension: 32, seed: 7)
        // Two k and two floors, so that some waiters may share a pass and others may not.
        let searches: [(queries: [[Float]], k: Int, minScore: Float?)] = (0..<12).map { n in
            var rng = ExactSearchTests.SplitMix(state: UInt64(n) + 1000)
            let queries = (0..<(n % 3 == 0 ? 2 : 1)).map { _ in (0..<32).map { _ in Float.random(in: -1...1, using: &rng) } }
            return (queries, n % 2 == 0 ? 10 : 3, n % 4 == 1 ? Float(0.5) : nil)
        }
        var alone: [[[ScoredRow]]] = []
        for search in searches {
            alone.append(await ExactSearch.search(search.queries, in: matrix, k: search.k, minScore: search.minScore))
        }
        let coalescer = ScanCoalescer()
        // Searches that start together nearly always find one scanning; a few rounds make a shared pass certain.
        for _ in 0..<20 where coalescer.sharedPassCount == 0 {
            let together = await withTaskGroup(of: (Int, [[ScoredRow]]).self) { group in
                for (n, search) in searches.enumerated() {
                    group.addTask {
                        (n, await coalescer.search(search.queries, in: matrix, k: search.k, minScore: search.minScore))
                    }
                }
                var results = [[[ScoredRow]]](repeating: [], count: searches.count)
                for await (n, rows) in group { results[n] = rows }
                return results
            }
            #expect(together == alone)
        }
        #expect(coalescer.sharedPassCount > 0, "some pass scanned the queries of several searches")
    }

    @Test("a search alone scans alone, and the next search finds the coalescer idle")
    func alone() async {
        let fixture = ExactSearchTests()
        let matrix = fixture.randomMatrix(rows: 1000, dimension: 16, seed: 3)
        let coalescer = ScanCoalescer()
        for seed in 0..<3 {
            let query = fixture.randomMatrix(rows: 1, dimension: 16, seed: UInt64(seed + 50)).values.map { $0 }
            let rows = await coalescer.search([query], in: matrix, k: 5, minScore: nil)
            #expect(rows == [fixture.naive(query, matrix, k: 5)])
        }
        #expect(coalescer.sharedPassCount == 0)
    }
}

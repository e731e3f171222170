@testable import EmbedKit
import Testing

@Suite("ExactSearch")
struct ExactSearchTests {
    /// A deterministic pseudo-random generator, so failures reproduce.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func randomMatrix(rows: Int, dimension: Int, seed: UInt64, quantized: Bool = false) -> VectorMatrix {
        var rng = SplitMix(state: seed)
        let values = (0..<(rows * dimension)).map { _ in
            // Coarse values make exact ties likely.
            quantized ? Float(Int.random(in: -2...2, using: &rng)) : Float.random(in: -1...1, using: &rng)
        }
        return VectorMatrix(dimension: dimension, ids: (0..<rows).map { Int64($0 + 100) }, values: values)
    }

    /// The reference: every score summed in double precision in index order, a full sort, ties by row.
    func naive(_ query: [Float], _ matrix: VectorMatrix, k: Int, accept: (Int) -> Bool = { _ in true }) -> [ScoredRow] {
        let scored = (0..<matrix.count).filter(accept).map { row in
            var score: Double = 0
            for i in 0..<matrix.dimension { score += Double(matrix.values[row * matrix.dimension + i]) * Double(query[i]) }
            return (row: row, score: score)
        }
        let sorted = scored.sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }
        return sorted.prefix(k).map { ScoredRow(row: $0.row, score: Float($0.score)) }
    }

    @Test("results equal a naive full sort", arguments: [(1, 1), (10, 5), (5000, 10), (20_000, 25)])
    func exact(rows: Int, k: Int) async {
        let matrix = randomMatrix(rows: rows, dimension: 16, seed: UInt64(rows))
        var rng = SplitMix(state: 7)
        let queries = (0..<3).map { _ in (0..<16).map { _ in Float.random(in: -1...1, using: &rng) } }
        let batched = await ExactSearch.search(queries, in: matrix, k: k, partitions: 3)
        for (query, result) in zip(queries, batched) {
            #expect(result == naive(query, matrix, k: k))
            // One query alone takes the matrix-vector path; the answer is the same.
            #expect(await ExactSearch.search([query], in: matrix, k: k, partitions: 2)[0] == result)
        }
    }

    @Test("near-ties closer than float32 rounding are still ranked exactly")
    func nearTies() async {
        // Rows that differ by one unit in the last place of one component.
        let dimension = 384
        var values: [Float] = []
        for row in 0..<3000 {
            var vector = [Float](repeating: 0.05, count: dimension)
            vector[row % dimension] = vector[row % dimension].nextUp
            if row % 3 == 0 { vector[(row * 7) % dimension] = vector[(row * 7) % dimension].nextDown }
            values += vector
        }
        let matrix = VectorMatrix(dimension: dimension, ids: (0..<3000).map { Int64($0) }, values: values)
        let query = (0..<dimension).map { Float($0 % 5) * 0.01 + 0.03 }
        let result = await ExactSearch.search([query], in: matrix, k: 40, partitions: 2)[0]
        #expect(result == naive(query, matrix, k: 40))
    }

    @Test("ties are broken by row order, the same for any number of partitions")
    func ties() async {
        let matrix = randomMatrix(rows: 9000, dimension: 4, seed: 3, quantized: true)
        let query: [Float] = [1, 1, 0, 0]
        let one = await ExactSearch.search([query], in: matrix, k: 50, partitions: 1)
        let many = await ExactSearch.search([query], in: matrix, k: 50, partitions: 4)
        #expect(one == many)
        #expect(one[0] == naive(query, matrix, k: 50))
    }

    @Test("k larger than the index returns every row; k = 0 and an empty index return nothing")
    func edges() async {
        let matrix = randomMatrix(rows: 7, dimension: 3, seed: 1)
        let query: [Float] = [0.5, -0.2, 0.1]
        #expect(await ExactSearch.search([query], in: matrix, k: 100)[0].count == 7)
        #expect(await ExactSearch.search([query], in: matrix, k: 0)[0].isEmpty)
        let empty = VectorMatrix(dimension: 3, ids: [], values: [])
        #expect(await ExactSearch.search([query], in: empty, k: 5)[0].isEmpty)
    }

    @Test("a filter applies during the scan and still returns k matches")
    func filter() async {
        let matrix = randomMatrix(rows: 1000, dimension: 8, seed: 9)
        let query = [Float](repeating: 0.3, count: 8)
        let result = await ExactSearch.search([query], in: matrix, k: 10, accept: { $0 % 2 == 0 })[0]
        #expect(result.count == 10)
        #expect(result == naive(query, matrix, k: 10, accept: { $0 % 2 == 0 }))
        let floor = result[4].score
        let above = await ExactSearch.search([query], in: matrix, k: 10, minScore: floor, accept: { $0 % 2 == 0 })[0]
        #expect(above == Array(result.prefix(5)))
        let none = await ExactSearch.search([query], in: matrix, k: 10, accept: { _ in false })[0]
        #expect(none.isEmpty)
    }
}

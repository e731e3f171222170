import CEmbedBLAS
import Foundation

/// Exact nearest-neighbour search by dot product over a ``VectorMatrix``.
///
/// The rows are split into contiguous partitions, one child task each. A partition scores blocks of rows
/// against all queries at once with one BLAS call per block (a matrix product, so many queries cost little
/// more than one), keeps the best rows per query, and also every row whose score is within the float32 error
/// bound of the cut-off. The survivors are re-scored exactly, in double precision, and ranked by that score,
/// ties broken by row. The result is therefore the exact ranking, the same on every CPU and for any number of
/// partitions, whatever order BLAS sums in. For normalized vectors the dot product is the cosine similarity.
public enum ExactSearch {
    /// Rows scored per BLAS call: a block of scores for 100 queries stays in the L2 cache.
    static let blockRows = 2048

    /// The `k` best rows for each query, best first.
    /// - Parameters:
    ///   - queries: query vectors, each of `matrix.dimension` floats.
    ///   - partitions: how many child tasks scan at once; defaults to the number of cores.
    ///   - minScore: rows scoring below this are left out.
    ///   - accept: a filter on rows, applied during the scan, so `k` rows come back whenever `k` rows pass.
    public static func search(
        _ queries: [[Float]], in matrix: VectorMatrix, k: Int,
        partitions: Int = ProcessInfoCores.active, minScore: Float? = nil,
        accept: (@Sendable (Int) -> Bool)? = nil
    ) async -> [[ScoredRow]] {
        guard k > 0, matrix.count > 0, !queries.isEmpty else { return queries.map { _ in [] } }
        // More than every row is every row: a huge k must not size the heaps.
        let k = min(k, matrix.count)
        precondition(queries.allSatisfy { $0.count == matrix.dimension }, "queries must match the matrix's dimension")
        // One BLAS thread per partition: the partitions already use every core, and more threads would oversubscribe.
        openblas_set_num_threads(1)
        let parts = max(1, min(partitions, (matrix.count + blockRows - 1) / blockRows))
        let rowsPerPart = (matrix.count + parts - 1) / parts
        let packed = queries.flatMap { $0 }
        let margins = queries.map { errorMargin(for: $0, in: matrix) }
        let partials = await withTaskGroup(of: [[ScoredRow]].self) { group in
            for part in 0..<parts {
                let rows = (part * rowsPerPart)..<min(matrix.count, (part + 1) * rowsPerPart)
                group.addTask {
                    scan(packed, queryCount: queries.count, matrix, rows: rows, k: k, margins: margins,
                         minScore: minScore, accept: accept)
                }
            }
            var all: [[[ScoredRow]]] = []
            for await partial in group { all.append(partial) }
            return all
        }
        return queries.indices.map { q in
            rescore(partials.flatMap { $0[q] }, query: queries[q], matrix: matrix, k: k, margin: margins[q], minScore: minScore)
        }
    }

    /// False when a score cannot come from this matrix: not finite, or above ‖q‖ · `maxRowNorm` (Cauchy-Schwarz)
    /// by more than rounding. Such a score means the rows are not what the matrix's header says they are.
    public static func isPlausible(_ results: [[ScoredRow]], queries: [[Float]], in matrix: VectorMatrix) -> Bool {
        guard matrix.maxRowNorm.isFinite else { return false }
        for (query, rows) in zip(queries, results) {
            let norm = query.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let bound = norm * Double(matrix.maxRowNorm) * (1 + 0x1p-16) + 0x1p-40
            for row in rows where !row.score.isFinite || Double(row.score.magnitude) > bound { return false }
        }
        return true
    }

    /// A bound on the difference between any float32 dot product of this query with a row and the exact one
    /// (|error| ≤ d·u·Σ|xᵢqᵢ| ≤ d·u·‖x‖·‖q‖, with u = 2⁻²⁴; doubled for safety).
    static func errorMargin(for query: [Float], in matrix: VectorMatrix) -> Float {
        let queryNorm = query.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return Float(matrix.dimension + 2) * 0x1p-23 * queryNorm * matrix.maxRowNorm
    }

    /// Scans `rows` for every query: the best `k` by float32 score, plus rows within `2·margin` of the cut-off.
    static func scan(
        _ packed: [Float], queryCount: Int, _ matrix: VectorMatrix, rows: Range<Int>, k: Int, margins: [Float],
        minScore: Float?, accept: (@Sendable (Int) -> Bool)?
    ) -> [[ScoredRow]] {
        var scorer = BlockScorer(queryCount: queryCount, dimension: matrix.dimension, k: k, margins: margins, minScore: minScore)
        let values = matrix.values.baseAddress!
        packed.withUnsafeBufferPointer { queries in
            var start = rows.lowerBound
            while start < rows.upperBound {
                let count = min(blockRows, rows.upperBound - start)
                scorer.score(values + start * matrix.dimension, count: count, firstRow: start, queries: queries, accept: accept)
                start += count
            }
        }
        return scorer.candidates()
    }

    /// The largest value (negative infinity for none), eight lanes at a time.
    @inline(__always)
    static func maximum(_ values: UnsafeBufferPointer<Float>) -> Float {
        var lanes = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        let base = UnsafeRawPointer(values.baseAddress!)
        while i + 8 <= values.count {
            lanes = pointwiseMax(lanes, base.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            i += 8
        }
        var result = lanes.max()
        while i < values.count {
            result = max(result, values[i])
            i += 1
        }
        return result
    }

    /// Ranks candidates by their exact score (double precision), ties by row, and keeps the best `k`.
    static func rescore(
        _ candidates: [ScoredRow], query: [Float], matrix: VectorMatrix, k: Int, margin: Float, minScore: Float?
    ) -> [ScoredRow] {
        guard !candidates.isEmpty else { return [] }
        // The k-th best float score over all partitions, and everything that can still beat the exact cut-off.
        var top = TopK(k: k)
        for candidate in candidates { top.insert(candidate) }
        let cut = top.threshold - 2 * margin
        var exact: [(row: Int, score: Double)] = candidates.filter { $0.score >= cut }.map { candidate in
            (candidate.row, exactScore(query, row: candidate.row, in: matrix))
        }
        if let minScore { exact.removeAll { $0.score < Double(minScore) } }
        exact.sort { a, b in RankingOrder.ranksBefore(a.score, b.score, tiesBrokenBy: a.row < b.row) }
        return exact.prefix(k).map { ScoredRow(row: $0.row, score: Float($0.score)) }
    }

    /// The dot product of `query` with a row, summed in double precision in index order.
    /// (Each product of two floats is exact in a double; only the sum rounds, the same way everywhere.)
    public static func exactScore(_ query: [Float], row: Int, in matrix: VectorMatrix) -> Double {
        exactScore(query, UnsafeBufferPointer(rebasing: matrix.values[(row * matrix.dimension)..<((row + 1) * matrix.dimension)]))
    }

    /// The dot product of `query` with `vector`, summed in double precision in index order.
    public static func exactScore(_ query: [Float], _ vector: some Collection<Float>) -> Double {
        var sum: Double = 0
        for (x, q) in zip(vector, query) { sum += Double(x) * Double(q) }
        return sum
    }
}

/// Scores blocks of rows against every query and keeps, for each query, its best `k` rows by float32 score and
/// every row within twice the error margin of the k-th: the candidates an exact re-score must see.
struct BlockScorer {
    let queryCount: Int
    let dimension: Int
    let margins: [Float]
    let minScore: Float?
    private var tops: [TopK]
    private var near: [[ScoredRow]]
    private let k: Int
    /// Scores of one block, query-major: scores[j * blockRows + i] is query j against row i of the block.
    private var scores: [Float]

    init(queryCount: Int, dimension: Int, k: Int, margins: [Float], minScore: Float?) {
        self.queryCount = queryCount
        self.dimension = dimension
        self.k = k
        self.margins = margins
        self.minScore = minScore
        tops = (0..<queryCount).map { _ in TopK(k: k) }
        near = [[ScoredRow]](repeating: [], count: queryCount)
        scores = [Float](repeating: 0, count: ExactSearch.blockRows * queryCount)
    }

    /// Scores `count` (at most `ExactSearch.blockRows`) rows at `block`, numbered from `firstRow`.
    /// - Parameter accept: a filter on row numbers, asked only of rows whose score could enter.
    mutating func score(
        _ block: UnsafePointer<Float>, count: Int, firstRow: Int, queries: UnsafeBufferPointer<Float>,
        accept: ((Int) -> Bool)?
    ) {
        let blockRows = ExactSearch.blockRows
        let (queryCount, dimension, k) = (self.queryCount, self.dimension, self.k)
        scores.withUnsafeMutableBufferPointer { c in
            if queryCount == 1 {
                cblas_sgemv(
                    CblasRowMajor, CblasNoTrans, Int32(count), Int32(dimension), 1, block, Int32(dimension),
                    queries.baseAddress, 1, 0, c.baseAddress, 1)
            } else {
                // (queries × d) · (rows × d)ᵀ: each query's scores for the block are contiguous.
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queryCount), Int32(count), Int32(dimension), 1,
                    queries.baseAddress, Int32(dimension), block, Int32(dimension), 0, c.baseAddress, Int32(blockRows))
            }
            for j in 0..<queryCount {
                let slack = 2 * margins[j]
                let blockScores = UnsafeBufferPointer(rebasing: c[(j * blockRows)..<(j * blockRows + count)])
                // Most blocks hold nothing that can enter once the top k is full: one pass finds that out.
                var cut = tops[j].threshold - slack
                if let minScore { cut = max(cut, minScore - slack) }
                guard ExactSearch.maximum(blockScores) >= cut else { continue }
                for i in 0..<count {
                    let score = blockScores[i]
                    guard score >= cut else { continue }
                    let row = firstRow + i
                    if let accept, !accept(row) { continue }
                    tops[j].insert(ScoredRow(row: row, score: score))
                    near[j].append(ScoredRow(row: row, score: score))
                    cut = max(cut, tops[j].threshold - slack)
                    // Keep the near list short: drop what fell out of reach since it was added.
                    if near[j].count > 4 * k + 1024 { near[j].removeAll { $0.score < cut } }
                }
            }
        }
    }

    /// Every row that may be among the best `k` of its query once scored exactly.
    func candidates() -> [[ScoredRow]] {
        (0..<queryCount).map { j in
            let cut = tops[j].threshold - 2 * margins[j]
            return near[j].filter { $0.score >= cut }
        }
    }
}

/// The number of cores this process may use.
public enum ProcessInfoCores {
    public static var active: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

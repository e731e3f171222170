import Foundation

/// Exact nearest-neighbour search by dot product over a ``VectorMatrix``.
///
/// The rows are split into contiguous partitions, one child task each (bounded by `partitions`); each keeps a
/// top-k per query, and the partial results are merged. The result equals a full sort of all scores, with ties
/// broken by row order. For normalized vectors the dot product is the cosine similarity.
public enum ExactSearch {
    /// The `k` best rows for each query, best first.
    /// - Parameters:
    ///   - queries: query vectors, each of `matrix.dimension` floats.
    ///   - partitions: how many child tasks scan at once; defaults to the number of cores.
    ///   - accept: an optional filter on rows, applied during the scan.
    public static func search(
        _ queries: [[Float]], in matrix: VectorMatrix, k: Int,
        partitions: Int = ProcessInfoCores.active,
        accept: (@Sendable (Int) -> Bool)? = nil
    ) async -> [[ScoredRow]] {
        guard k > 0, matrix.count > 0, !queries.isEmpty else { return queries.map { _ in [] } }
        let parts = max(1, min(partitions, matrix.count / 4096 + 1))
        let rowsPerPart = (matrix.count + parts - 1) / parts
        let partials = await withTaskGroup(of: (Int, [[ScoredRow]]).self) { group in
            for part in 0..<parts {
                let rows = (part * rowsPerPart)..<min(matrix.count, (part + 1) * rowsPerPart)
                group.addTask { (part, scan(queries, matrix, rows: rows, k: k, accept: accept)) }
            }
            var all = [[[ScoredRow]]](repeating: [], count: parts)
            for await (part, result) in group { all[part] = result }
            return all
        }
        return queries.indices.map { q in
            var merged = TopK(k: k)
            for partial in partials { for row in partial[q] { merged.insert(row) } }
            return merged.sorted()
        }
    }

    /// A single-task scan of every row, for callers that already run one task per index.
    public static func scanAll(_ queries: [[Float]], in matrix: VectorMatrix, k: Int) -> [[ScoredRow]] {
        guard k > 0, matrix.count > 0 else { return queries.map { _ in [] } }
        return scan(queries, matrix, rows: 0..<matrix.count, k: k, accept: nil)
    }

    static func scan(
        _ queries: [[Float]], _ matrix: VectorMatrix, rows: Range<Int>, k: Int, accept: (@Sendable (Int) -> Bool)?
    ) -> [[ScoredRow]] {
        let dimension = matrix.dimension
        return matrix.values.withUnsafeBufferPointer { values in
            queries.map { query in
                var top = TopK(k: k)
                query.withUnsafeBufferPointer { q in
                    for row in rows {
                        if let accept, !accept(row) { continue }
                        let base = values.baseAddress! + row * dimension
                        var score: Float = 0
                        for i in 0..<dimension { score += base[i] * q[i] }
                        if score >= top.threshold { top.insert(ScoredRow(row: row, score: score)) }
                    }
                }
                return top.sorted()
            }
        }
    }
}

/// The number of cores this process may use.
public enum ProcessInfoCores {
    public static var active: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}

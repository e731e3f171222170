import CEmbedBLAS
import CEmbedKernels
import Foundation

/// A chunk found by a scan of the vector file: its ids and its exact score.
public struct SegmentHit: Sendable, Equatable {
    public var id: Int64
    public var document: Int64
    public var score: Float
}

/// Exact nearest-neighbour search that streams the vector file's segments instead of holding the vectors: each
/// core reads a few MiB at a time, checks each 1 MiB block's checksum, and scores it, so memory stays flat
/// whatever the index's size.
///
/// The scan reads either the float32 rows or, when the segments have them, their int8 codes (a quarter of the
/// bytes). Either way it keeps, per query, every row whose approximate score is within twice a proven error
/// bound of the k-th best, then reads those few rows' float32 values one by one (each checked against its row
/// checksum) and ranks them by their exact score, summed in double precision, ties by chunk id. So the answer is
/// the exact top k, equal to ``ExactSearch``'s, whichever copy was scanned:
/// - float32 rows: |error| ≤ (d+2)·2⁻²³·‖q‖·max‖x‖, float rounding (as ``ExactSearch``);
/// - int8 codes: xᵢ = codeᵢ·scaleᵢ + eᵢ with |eᵢ| ≤ scaleᵢ/2, so |q·x − q·x̂| ≤ Σ|qᵢ|·scaleᵢ/2, plus the
///   rounding of the product over the decoded rows.
public enum SegmentSearch {
    /// Bytes each core reads and checks at a time.
    static let unitBytes = 8 << 20

    /// The `k` best chunks for each query, best first.
    /// - Parameters:
    ///   - useCodes: scan the int8 codes (every segment must have them) instead of the float32 rows.
    ///   - acceptDocument: a filter on document ids, applied during the scan, so `k` rows come back whenever `k` pass.
    /// - Throws: ``StoreError`` `.corrupt` when a block or a row fails its checksum, or cannot be read.
    public static func search(
        _ queries: [[Float]], in file: VectorSegments, k: Int, useCodes: Bool, minScore: Float? = nil,
        acceptDocument: (@Sendable (Int64) -> Bool)? = nil, partitions: Int = ProcessInfoCores.active
    ) async throws -> [[SegmentHit]] {
        guard k > 0, file.liveRows > 0, !queries.isEmpty else { return queries.map { _ in [] } }
        // Only the overlay holds live rows: the scans below find nothing, and it is searched after them.
        let scanned = file.manifest.liveRows > 0
        precondition(queries.allSatisfy { $0.count == file.dimension }, "queries must match the vectors' dimension")
        precondition(!useCodes || file.hasCodes, "a scan of codes needs segments with codes")
        let k = min(k, file.liveRows)
        openblas_set_num_threads(1)
        let margins = queries.map { margin(for: $0, in: file, useCodes: useCodes) }
        let units = scanned ? workUnits(file, useCodes: useCodes) : []
        let parts = min(partitions, units.count)
        let packed = queries.flatMap { $0 }
        let partials = try await withThrowingTaskGroup(of: [[ScoredRow]].self) { group in
            for part in 0..<parts {
                // Interleaved, so that both cores work through every segment at once.
                let mine = stride(from: part, to: units.count, by: parts).map { units[$0] }
                group.addTask {
                    try scan(mine, of: file, packed: packed, queryCount: queries.count, k: k, margins: margins,
                             minScore: minScore, useCodes: useCodes, acceptDocument: acceptDocument)
                }
            }
            var all: [[[ScoredRow]]] = []
            for try await partial in group { all.append(partial) }
            return all
        }
        // Per query, every row that may be among its exact best k; each read once, the reads split between the cores.
        let chosen = queries.indices.map { q -> [ScoredRow] in
            var top = TopK(k: k)
            let candidates = partials.flatMap { $0[q] }
            for candidate in candidates { top.insert(candidate) }
            let cut = top.threshold - 2 * margins[q]
            return candidates.filter { $0.score >= cut }
        }
        let rows = try await readRows(Set(chosen.joined().map(\.row)).sorted(), of: file, parts: partitions)
        // The chunks changed since the file was written (a writer still runs), searched in memory beside it.
        var overlaid: [[ScoredRow]] = queries.map { _ in [] }
        if let overlay = file.overlay, overlay.count > 0 {
            var accept: (@Sendable (Int) -> Bool)?
            if let acceptDocument { accept = { row in acceptDocument(overlay.documentIDs[row]) } }
            overlaid = await ExactSearch.search(
                queries, in: overlay, k: k, partitions: partitions, minScore: minScore, accept: accept)
        }
        return try queries.indices.map { q in
            // A score above ‖q‖ · the recorded largest norm means the recorded norms (and so the error bounds)
            // are wrong: the file is not what its checksums vouch for.
            let norm = queries[q].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let plausible = norm * Double(file.maxRowNorm) * (1 + 0x1p-16) + 0x1p-40
            var exact: [(hit: SegmentHit, score: Double)] = []
            for candidate in chosen[q] {
                let row = rows[candidate.row]!
                let sum = ExactSearch.exactScore(queries[q], row.vector)
                guard sum.magnitude <= plausible else { throw damaged(file, "a row is longer than its segment says") }
                if let minScore, sum < Double(minScore) { continue }
                exact.append((SegmentHit(id: row.id, document: row.document, score: Float(sum)), sum))
            }
            if let overlay = file.overlay {
                for found in overlaid[q] {
                    let sum = ExactSearch.exactScore(queries[q], row: found.row, in: overlay)
                    exact.append((SegmentHit(id: overlay.ids[found.row], document: overlay.documentIDs[found.row], score: Float(sum)), sum))
                }
            }
            exact.sort { a, b in RankingOrder.ranksBefore(a.score, b.score, tiesBrokenBy: a.hit.id < b.hit.id) }
            return exact.prefix(k).map(\.hit)
        }
    }

    /// Reads `rows` (sorted) one by one, each checked by its row checksum, split between `parts` tasks.
    private static func readRows(
        _ rows: [Int], of file: VectorSegments, parts: Int
    ) async throws -> [Int: (vector: [Float], id: Int64, document: Int64)] {
        let parts = max(1, min(parts, rows.count / 64))
        let per = (rows.count + parts - 1) / max(1, parts)
        return try await withThrowingTaskGroup(of: [(Int, (vector: [Float], id: Int64, document: Int64))].self) { group in
            for part in 0..<parts {
                let mine = rows[min(rows.count, part * per)..<min(rows.count, (part + 1) * per)]
                group.addTask {
                    try mine.map { row in
                        guard let read = file.row(row) else { throw damaged(file, "a row fails its checksum") }
                        return (row, read)
                    }
                }
            }
            var all: [Int: (vector: [Float], id: Int64, document: Int64)] = [:]
            for try await part in group { for (row, read) in part { all[row] = read } }
            return all
        }
    }

    /// A bound on |approximate score − exact score| for any row, for this query (see the type's comment),
    /// rounded up.
    static func margin(for query: [Float], in file: VectorSegments, useCodes: Bool) -> Float {
        let norm = query.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        let rounding = { (rowNorm: Float) in Float(file.dimension + 2) * 0x1p-23 * norm * rowNorm }
        guard useCodes else { return rounding(file.maxRowNorm) }
        var largest: Float = 0
        for (s, scales) in file.scales.enumerated() where file.manifest.segments[s].liveRows > 0 {
            var coding: Float = 0
            var scaleNorm: Float = 0
            for i in 0..<file.dimension {
                coding += query[i].magnitude * scales[i]
                scaleNorm += scales[i] * scales[i]
            }
            let decodedNorm = file.maxRowNorm + scaleNorm.squareRoot() / 2
            largest = max(largest, (coding / 2 + rounding(decodedNorm)) * (1 + 0x1p-10))
        }
        return largest
    }

    /// A contiguous run of rows of one segment, scanned in one go.
    struct Unit: Sendable {
        var segment: Int
        var rows: Range<Int>
    }

    static func workUnits(_ file: VectorSegments, useCodes: Bool) -> [Unit] {
        let rowBytes = file.dimension * (useCodes ? 1 : 4)
        let perUnit = max(1, unitBytes / rowBytes / ExactSearch.blockRows) * ExactSearch.blockRows
        var units: [Unit] = []
        for (s, segment) in file.segments.enumerated() where file.manifest.segments[s].liveRows > 0 {
            for start in stride(from: 0, to: segment.layout.count, by: perUnit) {
                units.append(Unit(segment: s, rows: start..<min(segment.layout.count, start + perUnit)))
            }
        }
        return units
    }

    private static func scan(
        _ units: [Unit], of file: VectorSegments, packed: [Float], queryCount: Int, k: Int, margins: [Float],
        minScore: Float?, useCodes: Bool, acceptDocument: (@Sendable (Int64) -> Bool)?
    ) throws -> [[ScoredRow]] {
        let dimension = file.dimension
        var scorer = BlockScorer(queryCount: queryCount, dimension: dimension, k: k, margins: margins, minScore: minScore)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: unitBytes + 2 * VectorFile.blockSize, alignment: 64)
        defer { buffer.deallocate() }
        let decoded = UnsafeMutablePointer<Float>.allocate(capacity: useCodes ? ExactSearch.blockRows * dimension : 1)
        defer { decoded.deallocate() }
        let variant = embed_kernels_best()
        let rowBytes = dimension * (useCodes ? 1 : 4)
        try packed.withUnsafeBufferPointer { queries in
            for unit in units {
                let segment = file.segments[unit.segment]
                let entry = file.manifest.segments[unit.segment]
                let layout = segment.layout
                let region = useCodes ? layout.codesOffset : 0
                let start = region + unit.rows.lowerBound * rowBytes
                let end = region + unit.rows.upperBound * rowBytes
                let firstBlock = start / VectorFile.blockSize
                let lastBlock = (end - 1) / VectorFile.blockSize
                let base = firstBlock * VectorFile.blockSize
                guard VectorFile.readCheckedBlocks(segment, firstBlock...lastBlock, into: buffer) != nil else {
                    throw damaged(file, "a segment cannot be read, or one of its blocks fails its checksum")
                }
                var documents: [Int64] = []
                if acceptDocument != nil {
                    let range = (layout.documentsOffset + 8 * unit.rows.lowerBound)..<(layout.documentsOffset + 8 * unit.rows.upperBound)
                    guard let raw = VectorFile.readChecked(segment, range: range) else {
                        throw damaged(file, "a segment's document ids fail their checksums")
                    }
                    documents = raw.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
                }
                let firstRow = file.firstRows[unit.segment]
                let lowest = unit.rows.lowerBound
                let accept: (Int) -> Bool = { row in
                    let local = row - firstRow
                    if entry.isDead(local) { return false }
                    if let acceptDocument { return acceptDocument(documents[local - lowest]) }
                    return true
                }
                let scales = file.scales[unit.segment]
                var row = unit.rows.lowerBound
                while row < unit.rows.upperBound {
                    let count = min(ExactSearch.blockRows, unit.rows.upperBound - row)
                    let at = buffer.baseAddress! + (region + row * rowBytes - base)
                    let block: UnsafePointer<Float>
                    if useCodes {
                        embed_k_dequantize_int8(
                            Int32(variant), at.assumingMemoryBound(to: Int8.self), count, dimension, scales, decoded)
                        block = UnsafePointer(decoded)
                    } else {
                        block = UnsafePointer(at.assumingMemoryBound(to: Float.self))
                    }
                    let needsCheck = entry.deadRows > 0 || acceptDocument != nil
                    scorer.score(block, count: count, firstRow: firstRow + row, queries: queries,
                                 accept: needsCheck ? accept : nil)
                    row += count
                }
            }
        }
        return scorer.candidates()
    }

    private static func damaged(_ file: VectorSegments, _ why: String) -> StoreError {
        StoreError(.corrupt, "the vector file \(file.manifestPath) is damaged: \(why)")
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// Vectors held row-major in one contiguous block of memory, with the chunk id and document id of each row.
///
/// The memory is owned (copied from arrays, or read from an index's vector file) and never written after the
/// matrix is made, so the matrix is safe to share between tasks.
public struct VectorMatrix: Sendable {
    public let dimension: Int
    public let count: Int
    /// The chunk id of each row.
    public var ids: UnsafeBufferPointer<Int64> { storage.ids }
    /// The document id of each row (used by filters).
    public var documentIDs: UnsafeBufferPointer<Int64> { storage.documentIDs }
    /// `count * dimension` floats, row-major.
    public var values: UnsafeBufferPointer<Float> { storage.values }

    /// The largest L2 norm of any row (bounds the rounding error of a dot product).
    public let maxRowNorm: Float

    /// True when the rows were read from the index's vector file rather than from SQLite.
    let isFromVectorFile: Bool

    let storage: Storage

    /// A matrix over arrays.
    public init(dimension: Int, ids: [Int64], documentIDs: [Int64]? = nil, values: [Float]) {
        precondition(values.count == ids.count * dimension, "values must hold one row of `dimension` per id")
        precondition(documentIDs == nil || documentIDs!.count == ids.count, "one document id per row")
        self.dimension = dimension
        count = ids.count
        storage = Storage(ids: ids, documentIDs: documentIDs ?? [Int64](repeating: 0, count: ids.count), values: values)
        maxRowNorm = Self.maxNorm(storage.values, dimension: dimension)
        isFromVectorFile = false
    }

    init(dimension: Int, count: Int, maxRowNorm: Float, storage: Storage, isFromVectorFile: Bool) {
        self.dimension = dimension
        self.count = count
        self.maxRowNorm = maxRowNorm
        self.storage = storage
        self.isFromVectorFile = isFromVectorFile
    }

    static func maxNorm(_ values: UnsafeBufferPointer<Float>, dimension: Int) -> Float {
        guard dimension > 0 else { return 0 }
        var largest: Float = 0
        var row = 0
        while row < values.count {
            var sum: Float = 0
            for i in row..<(row + dimension) { sum += values[i] * values[i] }
            largest = max(largest, sum)
            row += dimension
        }
        // Rounded up a little: the bound must not be an underestimate.
        return largest.squareRoot() * (1 + 0x1p-20)
    }

    /// The memory behind a matrix, released when the last matrix using it goes away.
    ///
    /// `@unchecked Sendable`: the pointers are set once in `init` and the memory they point to is never written
    /// afterwards (arrays are copied in; a vector file is read in before the matrix is made), so concurrent
    /// reads are safe.
    final class Storage: @unchecked Sendable {
        let ids: UnsafeBufferPointer<Int64>
        let documentIDs: UnsafeBufferPointer<Int64>
        let values: UnsafeBufferPointer<Float>
        private let release: () -> Void

        init(ids: [Int64], documentIDs: [Int64], values: [Float]) {
            let idCopy = UnsafeMutableBufferPointer<Int64>.allocate(capacity: ids.count)
            _ = idCopy.initialize(from: ids)
            let documentCopy = UnsafeMutableBufferPointer<Int64>.allocate(capacity: documentIDs.count)
            _ = documentCopy.initialize(from: documentIDs)
            let valueCopy = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
            _ = valueCopy.initialize(from: values)
            self.ids = UnsafeBufferPointer(idCopy)
            self.documentIDs = UnsafeBufferPointer(documentCopy)
            self.values = UnsafeBufferPointer(valueCopy)
            release = {
                idCopy.deallocate()
                documentCopy.deallocate()
                valueCopy.deallocate()
            }
        }

        /// Memory allocated by the caller (a vector file's contents), released by `release`.
        init(
            ids: UnsafeBufferPointer<Int64>, documentIDs: UnsafeBufferPointer<Int64>, values: UnsafeBufferPointer<Float>,
            release: @escaping () -> Void
        ) {
            self.ids = ids
            self.documentIDs = documentIDs
            self.values = values
            self.release = release
        }

        deinit { release() }
    }
}

/// The last vector matrix read from one index, shared by the readers of one ``EmbeddingIndex``: concurrent
/// searches (`embed serve`) read and check the vectors once per change of the index, not once each, and hold
/// one copy of them between them instead of one per search in flight.
///
/// An entry is trusted only for the index id and generation it was read at; any write bumps the generation.
public final class VectorMatrixCache: Sendable {
    private struct Entry {
        var indexID: [UInt8]
        var generation: Int64
        var matrix: VectorMatrix
    }

    private let entry = Locked<Entry?>(nil)

    public init() {}

    /// The matrix read at exactly this index id, generation and dimension, if it is the one held.
    func matrix(indexID: [UInt8], generation: Int64, dimension: Int) -> VectorMatrix? {
        entry.withLock { entry in
            guard let entry, entry.indexID == indexID, entry.generation == generation,
                entry.matrix.dimension == dimension
            else { return nil }
            return entry.matrix
        }
    }

    /// Holds `matrix` as the vectors of this index id and generation, unless a newer generation is held.
    func keep(_ matrix: VectorMatrix, indexID: [UInt8], generation: Int64) {
        entry.withLock { entry in
            if let held = entry, held.indexID == indexID, held.generation > generation { return }
            entry = Entry(indexID: indexID, generation: generation, matrix: matrix)
        }
    }
}

/// The last value read from one index, shared by the readers of one ``EmbeddingIndex``: concurrent searches
/// (`embed serve`) read and check it once per change of the index, not once each, and hold one copy of it
/// between them instead of one per search in flight.
///
/// An entry is trusted only for the index id and generation it was read at; any write bumps the generation.
public final class GenerationCache<Value: Sendable>: Sendable {
    private struct Entry {
        var indexID: [UInt8]
        var generation: Int64
        var value: Value
    }

    private let entry = Locked<Entry?>(nil)

    public init() {}

    /// The value read at exactly this index id and generation, if it is the one held.
    func value(indexID: [UInt8], generation: Int64) -> Value? {
        entry.withLock { entry in
            guard let entry, entry.indexID == indexID, entry.generation == generation else { return nil }
            return entry.value
        }
    }

    /// Holds `value` as read at this index id and generation, unless a newer generation is held.
    func keep(_ value: Value, indexID: [UInt8], generation: Int64) {
        entry.withLock { entry in
            if let held = entry, held.indexID == indexID, held.generation > generation { return }
            entry = Entry(indexID: indexID, generation: generation, value: value)
        }
    }
}

/// Every chunk's vector, as a reader read it last.
public typealias VectorMatrixCache = GenerationCache<VectorMatrix>

/// The keyword index's posting lists, as readers read them (only for an index opened to serve many queries).
typealias KeywordPostingsCache = GenerationCache<KeywordPostings>

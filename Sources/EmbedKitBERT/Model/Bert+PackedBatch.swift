extension Bert {
    /// Several tokenized sequences stored back to back, one row per token: no padding at all.
    ///
    /// Attention runs per sequence over its own rows, so no attention mask is needed; this equals
    /// Hugging Face's padded, masked computation for the real tokens (masked scores become exactly 0).
    struct PackedBatch: Sendable {
        /// Token ids of all sequences, concatenated.
        var ids: [Int32] = []
        /// Each sequence's rows in `ids`.
        var sequences: [Range<Int>] = []

        var tokenCount: Int { ids.count }

        mutating func append(_ sequence: [Int32]) {
            sequences.append(ids.count..<(ids.count + sequence.count))
            ids.append(contentsOf: sequence)
        }
    }
}

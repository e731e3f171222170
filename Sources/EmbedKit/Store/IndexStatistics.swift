/// Counts that describe an index.
public struct IndexStatistics: Sendable, Equatable, Codable {
    public var documents: Int
    public var chunks: Int
    /// Distinct vectors (chunks without words, which have none, are not counted).
    public var vectors: Int
    /// Chunks stored without a vector: chunks without words, in an index that does not embed them.
    public var chunksWithoutVector: Int
    public var settings: IndexSettings?
    public var roots: [IngestRoot]
    public var bytesOnDisk: Int64
}

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
    /// The SQLite file and its log.
    public var bytesOnDisk: Int64
    /// Every file of the index with its size: the SQLite file, its log, the vector file's manifest and segments.
    public var files: [FileSize] = []
    /// Whether the vector file carries int8 codes.
    public var quantization: VectorQuantization = .auto
    /// Rows of the vector file's segments whose chunk is gone (space a merge will reclaim).
    public var deadRows = 0
    /// A PostgreSQL index's approximate index; nil for a SQLite index.
    public var approximateIndex: ApproximateIndex?

    public struct FileSize: Sendable, Equatable, Codable {
        public var path: String
        public var bytes: Int64
    }
}

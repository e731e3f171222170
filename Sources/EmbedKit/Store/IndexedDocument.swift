/// One document ready to be stored: its metadata, chunks, and one vector per chunk.
public struct IndexedDocument: Sendable {
    public var path: String
    public var size: Int64
    public var modificationTimeNanoseconds: Int64
    public var contentHash: ContentDigest
    public var format: DocumentFormat
    public var title: String?
    public var chunks: [Chunk]
    /// SHA-256 of the UTF-8 text embedded for each chunk (its header and text, see ``ChunkHeaders``): the key of
    /// the embedding cache, so that one text under two headings gets two vectors.
    public var textHashes: [ContentDigest]
    /// One vector per chunk.
    public var vectors: [[Float]]

    public init(
        path: String, size: Int64, modificationTimeNanoseconds: Int64, contentHash: ContentDigest,
        format: DocumentFormat, title: String?, chunks: [Chunk], textHashes: [ContentDigest], vectors: [[Float]]
    ) {
        self.path = path
        self.size = size
        self.modificationTimeNanoseconds = modificationTimeNanoseconds
        self.contentHash = contentHash
        self.format = format
        self.title = title
        self.chunks = chunks
        self.textHashes = textHashes
        self.vectors = vectors
    }
}

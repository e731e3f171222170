/// What an index was built with. A run with different settings is refused rather than mixing vector spaces.
public struct IndexSettings: Sendable, Equatable, Codable {
    public var embedder: EmbedderIdentity
    public var chunking: TextChunker.Configuration
    /// What is embedded with each chunk besides its text.
    public var chunkContext: ChunkContext

    public init(embedder: EmbedderIdentity, chunking: TextChunker.Configuration, chunkContext: ChunkContext = .none) {
        self.embedder = embedder
        self.chunking = chunking
        self.chunkContext = chunkContext
    }

    private enum CodingKeys: String, CodingKey {
        case embedder, chunking, chunkContext
    }

    // Settings recorded before chunk context existed have none; `none` is written without the key, exactly as
    // before, so those indexes and new ones without headers read the same both ways.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        embedder = try container.decode(EmbedderIdentity.self, forKey: .embedder)
        chunking = try container.decode(TextChunker.Configuration.self, forKey: .chunking)
        chunkContext = try container.decodeIfPresent(ChunkContext.self, forKey: .chunkContext) ?? .none
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(embedder, forKey: .embedder)
        try container.encode(chunking, forKey: .chunking)
        if chunkContext != .none { try container.encode(chunkContext, forKey: .chunkContext) }
    }
}

/// The digest that identifies file contents and chunk texts (SHA-256, 32 bytes).
public typealias ContentDigest = [UInt8]

/// What the index knows of a stored file, for change detection.
public struct StoredDocumentState: Sendable, Equatable {
    public var size: Int64
    public var modificationTimeNanoseconds: Int64
    public var contentHash: ContentDigest
    public var chunkCount: Int
}

/// A file skipped for a reason that lasts until its bytes change, remembered so that later runs skip it
/// without reading it or reporting it again.
public struct SkippedFile: Sendable, Equatable {
    public enum Reason: String, Sendable, Equatable {
        case binary
        case tooLarge = "too_large"
        case undecodable
        case malformed

        /// The reason for a parser's error, when it lasts until the file changes.
        public init?(_ code: ParsingError.Code) {
            switch code {
            case .binary: self = .binary
            case .tooLarge: self = .tooLarge
            case .undecodable: self = .undecodable
            case .malformed: self = .malformed
            }
        }
    }

    public var path: String
    public var size: Int64
    public var modificationTimeNanoseconds: Int64
    public var reason: Reason
    /// The size limit in force when the file was skipped.
    public var maxFileSize: Int64
    /// Which build of the parsers decided (see ``IngestPipeline/Configuration/skipRules``).
    public var rules: String

    public init(
        path: String, size: Int64, modificationTimeNanoseconds: Int64, reason: Reason, maxFileSize: Int64,
        rules: String
    ) {
        self.path = path
        self.size = size
        self.modificationTimeNanoseconds = modificationTimeNanoseconds
        self.reason = reason
        self.maxFileSize = maxFileSize
        self.rules = rules
    }

    /// True when skipping `file` again without reading it gives what reading it would: same size and time, the
    /// same parsers, and for a file too large, a limit no larger than the one it was over.
    public func stillApplies(to file: SourceFile, maxFileSize limit: Int64, rules currentRules: String) -> Bool {
        file.size == size && file.modificationTimeNanoseconds == modificationTimeNanoseconds && rules == currentRules
            && (reason != .tooLarge || limit <= maxFileSize)
    }
}

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

/// Where documents, chunks and vectors are kept: one writer, used by the ingest pipeline.
///
/// ``SQLiteIndexStore`` is the implementation; the protocol keeps the pipeline independent of it,
/// so another database can be added later.
public protocol IndexStore: Sendable {
    /// Records `settings` in a new index, or checks that an existing index was built with them, and records
    /// `roots` (a root already known gets its new options).
    /// - Throws: ``StoreError`` with code `.mismatch` when the index was built with other settings.
    func prepare(_ settings: IndexSettings, roots: [IngestRoot]) async throws
    /// Throws what ``prepare(_:roots:)`` would when the index was built with other settings, writing nothing.
    func checkCompatible(_ settings: IndexSettings) async throws
    /// Records how the embedder was configured (base URL, model...), so `reindex` can build it again.
    /// Never holds secrets.
    func recordEmbedderOptions(_ options: [String: String]) async throws
    /// The stored state of every document, by path.
    func documentStates() async throws -> [String: StoredDocumentState]
    /// The vectors already stored for these digests of embedded texts (the embedding cache).
    func cachedVectors(for textHashes: [ContentDigest]) async throws -> [ContentDigest: [Float]]
    /// The files remembered as skipped, by path.
    func skippedFiles() async throws -> [String: SkippedFile]
    /// Stores documents, replacing any stored under the same paths, and remembers `skipped` files, in one
    /// transaction. A file stored as a document is no longer remembered as skipped.
    func write(_ documents: [IndexedDocument], skipped: [SkippedFile]) async throws
    /// Updates the size and modification time of documents whose contents did not change.
    func touch(_ documents: [(path: String, size: Int64, modificationTimeNanoseconds: Int64)]) async throws
    /// Removes `documents` with their chunks and the vectors no other chunk uses, forgets the remembered `skips`,
    /// and drops the recorded `roots` with these paths, in one transaction.
    func remove(documents: [String], skips: [String], roots: [String]) async throws
    /// Brings derived data (the vector file) up to date after a run; returns a warning when it could not, which
    /// costs queries speed, never correctness.
    /// - Throws: ``StoreError`` `.diskFull` when the disk is full.
    func refreshVectorFile() async throws -> String?
}

extension IndexStore {
    /// Stores documents (see ``write(_:skipped:)``).
    public func write(_ documents: [IndexedDocument]) async throws {
        try await write(documents, skipped: [])
    }

    /// Removes documents and remembered skips at `paths` (see ``remove(documents:skips:roots:)``), keeping every
    /// root.
    public func remove(paths: [String]) async throws {
        try await remove(documents: paths, skips: paths, roots: [])
    }

    /// Removes documents and remembered skips at `paths`, and the roots at `roots`, in one transaction.
    public func remove(paths: [String], roots: [String]) async throws {
        try await remove(documents: paths, skips: paths, roots: roots)
    }
}

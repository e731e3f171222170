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
    /// Records how the openai embedder was configured (base URL, model...; nil for other embedders), so
    /// `reindex` can build it again. Never holds secrets.
    func recordEmbedder(_ openai: OpenAIRecipe?) async throws
    /// The stored state of every document, by path.
    func documentStates() async throws -> [String: StoredDocumentState]
    /// The vectors already stored for these digests of embedded texts (the embedding cache).
    func cachedVectors(for textHashes: [ContentDigest]) async throws -> [ContentDigest: [Float]]
    /// The roots recorded in the index.
    func roots() async throws -> [IngestRoot]
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

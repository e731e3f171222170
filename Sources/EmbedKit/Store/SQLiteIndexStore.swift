import Foundation

/// The SQLite index: the single writer of one index file.
///
/// An actor whose executor is a private serial dispatch queue, so blocking SQLite calls never occupy the
/// cooperative thread pool that parsing and embedding run on. The connection is reachable only from
/// this actor. The file is in WAL mode: readers (queries) keep working while it writes.
///
/// ```swift
/// let store = try SQLiteIndexStore(path: "output/embeddings.sqlite")
/// try await store.prepare(settings, roots: [IngestRoot.resolving("docs")])
/// try await store.write(documents)
/// ```
public actor SQLiteIndexStore: IndexStore {
    private let executor: DispatchQueueExecutor
    let connection: SQLiteConnection
    public nonisolated let path: String
    /// What the last ``refreshVectorFile()`` did to the vector file, for the tests.
    private(set) var lastVectorFileUpdate: VectorFile.UpdateOutcome?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens or creates the index at `path`, creating its folder and applying pending migrations.
    ///
    /// An index written before the keyword index existed gets it, built from its chunks. A keyword index found
    /// missing or damaged (see ``KeywordIndex/repairIfNeeded(_:progress:)``) is rebuilt, in one transaction that
    /// leaves chunks and vectors as they were.
    /// - Parameters:
    ///   - keywordIndexProgress: told how a build of the keyword index goes (it can take minutes).
    ///   - keywordIndexUpkeep: whether to check the keyword index and rebuild it when damaged (the default), leave
    ///     it (a dry run), or rebuild it in any case.
    public init(
        path: String, keywordIndexProgress: KeywordIndexProgress? = nil,
        keywordIndexUpkeep: KeywordIndexUpkeep = .repairIfNeeded
    ) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // Any writer (the caller holds the index's lock) clears what killed runs left beside the index.
        IndexCompanions.removeWritersLeftovers(of: path)
        if !FileManager.default.fileExists(atPath: path) { try Self.create(at: path) }
        let connection = try SQLiteConnection(path: path, create: false)
        try IndexFile.configure(connection, writable: true)
        try Self.upgrade(connection, keywordIndexProgress: keywordIndexProgress, upkeep: keywordIndexUpkeep)
        self.connection = connection
        self.path = path
        self.executor = DispatchQueueExecutor(label: "embed.store")
    }

    /// Opens the existing index at `path` for writing without changing it: ``EmbeddingIndex`` reads the recipe
    /// first and upgrades the index (``upgrade(keywordIndexProgress:upkeep:)``) once the run is known to go
    /// ahead. Refuses, before writing anything, what is not an embed index (a folder, another file, another
    /// application's SQLite database, an index from a newer embed).
    init(existingAt path: String) throws {
        try IndexFile.checkIsIndexFile(path)
        let connection = try SQLiteConnection(path: path, create: false)
        // Read as a reader would until the file is known to be an index: WAL mode is a write.
        try IndexFile.configure(connection, writable: false)
        try Migrations.checkKnown(connection)
        try IndexFile.probe(connection, path: path)
        try IndexFile.configure(connection, writable: true)
        // Any writer (the caller holds the index's lock) clears what killed runs left beside the index.
        IndexCompanions.removeWritersLeftovers(of: path)
        self.connection = connection
        self.path = path
        self.executor = DispatchQueueExecutor(label: "embed.store")
    }

    /// Applies pending migrations and looks after the keyword index (see ``init(path:keywordIndexProgress:keywordIndexUpkeep:)``).
    public func upgrade(keywordIndexProgress: KeywordIndexProgress?, upkeep: KeywordIndexUpkeep) throws {
        try Self.upgrade(connection, keywordIndexProgress: keywordIndexProgress, upkeep: upkeep)
    }

    private static func upgrade(
        _ connection: SQLiteConnection, keywordIndexProgress: KeywordIndexProgress?, upkeep: KeywordIndexUpkeep
    ) throws {
        try Migrations.migrate(connection, keywordIndexProgress: keywordIndexProgress)
        if upkeep != .none {
            try KeywordIndex.repairIfNeeded(connection, always: upkeep == .rebuild, progress: keywordIndexProgress)
        }
    }

    /// What the index was built with; nil for an index never written.
    public func recipe() throws -> IndexRecipe? {
        try IndexFile.recipe(connection)
    }

    /// Creates a new, empty index under a temporary name and renames it into place, so that a process killed
    /// at any moment leaves either no index or a complete empty one, never a file without the schema.
    private static func create(at path: String) throws {
        let temporary = IndexCompanions.temporaryName(for: path, marker: IndexCompanions.creatingMarker)
        // Claim the name first: O_EXCL and O_NOFOLLOW refuse anything planted there (a symlink to another
        // database would otherwise get this schema), and SQLite then opens the empty file as a new database.
        let claim = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard claim >= 0 else {
            throw StoreError(
                .cannotOpen, "cannot create \(temporary): \(String(cString: strerror(errno)))", path: path)
        }
        close(claim)
        defer { IndexCompanions.remove(temporary) }
        do {
            let connection = try SQLiteConnection(path: temporary)
            try IndexFile.configure(connection, writable: true)
            try Migrations.migrate(connection)
            try IndexFile.ensureIndexID(connection)
            // Leave WAL mode before the rename: the write-ahead log is named after the file.
            try connection.execute("PRAGMA journal_mode = DELETE")
        }
        guard rename(temporary, path) == 0 else {
            throw StoreError(.cannotOpen, "cannot create the index \(path): \(String(cString: strerror(errno)))", path: path)
        }
    }

    public func prepare(_ settings: IndexSettings, roots: [IngestRoot]) throws {
        try connection.transaction {
            if try IndexFile.settings(connection) != nil {
                try checkCompatible(settings)
            } else {
                try IndexFile.setMeta(connection, IndexFile.Key.settings, IndexFile.encode(settings))
            }
            let known = IngestRoot.recording(roots, in: try IndexFile.roots(connection))
            try IndexFile.setMeta(connection, IndexFile.Key.roots, IndexFile.encode(known))
        }
    }

    /// Throws what ``prepare(_:roots:)`` throws when the index was built with other settings, writing nothing
    /// (for dry runs, which must refuse what the real run refuses). A new index accepts any settings.
    public func checkCompatible(_ settings: IndexSettings) throws {
        if let stored = try IndexFile.settings(connection), stored != settings {
            throw StoreError(.mismatch, IndexFile.mismatchMessage(stored: stored, requested: settings, path: path), path: path)
        }
    }

    /// The roots recorded in the index.
    public func roots() throws -> [IngestRoot] {
        try IndexFile.roots(connection)
    }

    public func recordEmbedder(_ openai: OpenAIRecipe?) throws {
        try IndexFile.setMeta(connection, IndexFile.Key.embedderOptions, IndexFile.encode(openai ?? OpenAIRecipe()))
    }

    /// Caps the file at `pages` pages (SQLite's `max_page_count`), so tests can fill the "disk" portably.
    func limitPageCount(to pages: Int) throws {
        try connection.execute("PRAGMA max_page_count = \(pages)")
    }

    /// The file's size in pages.
    func pageCount() throws -> Int {
        let statement = try connection.prepare("PRAGMA page_count")
        return try statement.step() ? Int(statement.int(0)) : 0
    }

    public func documentStates() throws -> [String: StoredDocumentState] {
        let statement = try connection.prepare("SELECT path, size, mtime_ns, content_hash, chunk_count FROM documents")
        var states: [String: StoredDocumentState] = [:]
        while try statement.step() {
            states[statement.text(0)] = StoredDocumentState(
                size: statement.int(1), modificationTimeNanoseconds: statement.int(2),
                contentHash: statement.blob(3), chunkCount: Int(statement.int(4)))
        }
        return states
    }

    public func cachedVectors(for textHashes: [ContentDigest]) throws -> [ContentDigest: [Float]] {
        let statement = try connection.prepare("SELECT embedding FROM vectors WHERE text_hash = ?1")
        var found: [ContentDigest: [Float]] = [:]
        for hash in textHashes where found[hash] == nil {
            statement.bind([.blob(hash)])
            if try statement.step() {
                found[hash] = statement.withBlob(0) { VectorCoding.decode($0) }
            }
        }
        return found
    }

    public func skippedFiles() throws -> [String: SkippedFile] {
        let statement = try connection.prepare(
            "SELECT path, size, mtime_ns, reason, max_file_size, rules FROM skipped_files")
        var skipped: [String: SkippedFile] = [:]
        while try statement.step() {
            // A reason this version does not know is not trusted: the file is looked at again.
            guard let reason = SkippedFile.Reason(rawValue: statement.text(3)) else { continue }
            let path = statement.text(0)
            skipped[path] = SkippedFile(
                path: path, size: statement.int(1), modificationTimeNanoseconds: statement.int(2), reason: reason,
                maxFileSize: statement.int(4), rules: statement.text(5))
        }
        return skipped
    }

    public func write(_ documents: [IndexedDocument], skipped: [SkippedFile]) throws {
        guard !documents.isEmpty || !skipped.isEmpty else { return }
        let now = Int64(Date().timeIntervalSince1970)
        let insertDocument = try connection.prepare(
            """
            INSERT INTO documents(path, size, mtime_ns, content_hash, format, title, chunk_count, indexed_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """)
        let findVector = try connection.prepare("SELECT id FROM vectors WHERE text_hash = ?1")
        let insertVector = try connection.prepare("INSERT INTO vectors(text_hash, embedding) VALUES (?1, ?2)")
        let insertChunk = try connection.prepare(
            """
            INSERT INTO chunks(document_id, ordinal, text, start_offset, end_offset, line, heading_path,
                               token_count, vector_id)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """)
        let forgetSkip = try connection.prepare("DELETE FROM skipped_files WHERE path = ?1")
        let rememberSkip = try connection.prepare(
            """
            INSERT OR REPLACE INTO skipped_files(path, size, mtime_ns, reason, max_file_size, rules)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """)
        try connection.transaction {
            try IndexFile.advanceGeneration(connection)
            for file in skipped {
                try rememberSkip.bind([
                    .text(file.path), .int(file.size), .int(file.modificationTimeNanoseconds),
                    .text(file.reason.rawValue), .int(file.maxFileSize), .text(file.rules),
                ]).run()
            }
            for document in documents {
                try forgetSkip.bind([.text(document.path)]).run()
                let orphanCandidates = try deleteDocument(at: document.path)
                insertDocument.bind([
                    .text(document.path), .int(document.size), .int(document.modificationTimeNanoseconds),
                    .blob(document.contentHash), .text(document.format.rawValue),
                    document.title.map { .text($0) } ?? .null, .int(Int64(document.chunks.count)), .int(now),
                ])
                try insertDocument.run()
                let documentID = connection.lastInsertRowID
                for (index, chunk) in document.chunks.enumerated() {
                    let hash = document.textHashes[index]
                    findVector.bind([.blob(hash)])
                    let vectorID: Int64
                    if try findVector.step() {
                        vectorID = findVector.int(0)
                    } else {
                        insertVector.bind([.blob(hash)])
                        insertVector.bindVector(document.vectors[index], at: 2)
                        try insertVector.run()
                        vectorID = connection.lastInsertRowID
                    }
                    insertChunk.bind([
                        .int(documentID), .int(Int64(chunk.ordinal)), .text(chunk.text), .int(Int64(chunk.startOffset)),
                        .int(Int64(chunk.endOffset)), .int(Int64(chunk.line)),
                        .text(IndexFile.encodeHeadingPath(chunk.headingPath)), .int(Int64(chunk.tokenCount)),
                        .int(vectorID),
                    ])
                    try insertChunk.run()
                }
                try deleteUnusedVectors(orphanCandidates)
            }
        }
    }

    public func touch(_ documents: [(path: String, size: Int64, modificationTimeNanoseconds: Int64)]) throws {
        guard !documents.isEmpty else { return }
        let update = try connection.prepare("UPDATE documents SET size = ?2, mtime_ns = ?3 WHERE path = ?1")
        let forgetSkip = try connection.prepare("DELETE FROM skipped_files WHERE path = ?1")
        try connection.transaction {
            for document in documents {
                try update.bind([.text(document.path), .int(document.size), .int(document.modificationTimeNanoseconds)])
                    .run()
                try forgetSkip.bind([.text(document.path)]).run()
            }
        }
    }

    public func remove(documents: [String], skips: [String], roots: [String]) throws {
        guard !documents.isEmpty || !skips.isEmpty || !roots.isEmpty else { return }
        let forgetSkip = try connection.prepare("DELETE FROM skipped_files WHERE path = ?1")
        try connection.transaction {
            try IndexFile.advanceGeneration(connection)
            for path in documents {
                try deleteUnusedVectors(try deleteDocument(at: path))
            }
            for path in skips {
                try forgetSkip.bind([.text(path)]).run()
            }
            if !roots.isEmpty {
                let gone = Set(roots)
                let kept = try IndexFile.roots(connection).filter { !gone.contains($0.path) }
                try IndexFile.setMeta(connection, IndexFile.Key.roots, IndexFile.encode(kept))
            }
        }
    }

    /// Records whether the vector file carries int8 codes; the next ``refreshVectorFile()`` writes it so.
    public func setQuantization(_ quantization: VectorQuantization) throws {
        try connection.transaction { try IndexFile.setQuantization(connection, quantization) }
    }

    /// Brings the index's vector file up to date, by what changed when it can (see `IndexFile.updateVectorFile`),
    /// so that queries start at once. Most failures here cost queries speed, never correctness, so they are
    /// reported, not thrown; a full disk is thrown, because the user must free space before the index can be
    /// written again.
    public func refreshVectorFile() throws -> String? {
        let file = VectorFile.path(forIndex: path)
        do {
            guard let settings = try IndexFile.settings(connection) else { return nil }
            guard let lock = VectorFileLock(indexPath: path, wait: true) else {
                return "cannot lock the vector file \(file) (\(file).lock); queries will read SQLite"
            }
            defer { withExtendedLifetime(lock) {} }
            // Temporaries and segments of writers and queries that died (one of a running query has a live pid).
            IndexCompanions.removeLeftovers(of: file, marker: IndexCompanions.temporaryMarker)
            try IndexFile.ensureIndexID(connection)
            let outcome = try IndexFile.updateVectorFile(connection, indexPath: path, dimension: settings.embedder.dimension)
            lastVectorFileUpdate = outcome
            if outcome.kind == .rebuilt { try IndexFile.repairChangeLog(connection) }
            if let reflected = outcome.reflects { try IndexFile.pruneChanges(connection, through: reflected) }
            return nil
        } catch let error as VectorFileError where error.isDiskFull {
            throw StoreError(
                .diskFull,
                "cannot write the vector file \(file): \(String(cString: strerror(error.errno))); the documents "
                    + "were stored, but free space and run again (queries read the index without it meanwhile)",
                path: path)
        } catch let error as StoreError where error.code == .diskFull {
            throw error
        } catch {
            return "cannot write the vector file \(file): \(error); queries will read SQLite"
        }
    }

    /// Replaces everything this index holds (documents, chunks, vectors, settings, roots) with the contents of
    /// the index at `otherPath`, in one transaction: readers see the old contents until it commits.
    /// Used by `--reembed`, which builds the new index beside the old one.
    public func replaceContents(withIndexAt otherPath: String) throws {
        try connection.prepare("ATTACH DATABASE ?1 AS next").bind([.text(otherPath)]).run()
        defer { try? connection.execute("DETACH DATABASE next") }
        try connection.transaction {
            try connection.execute(
                """
                DELETE FROM main.chunks;
                DELETE FROM main.vectors;
                DELETE FROM main.documents;
                DELETE FROM main.skipped_files;
                DELETE FROM main.index_meta WHERE key != 'generation';
                INSERT INTO main.documents SELECT * FROM next.documents;
                INSERT INTO main.skipped_files SELECT * FROM next.skipped_files;
                INSERT INTO main.vectors SELECT * FROM next.vectors;
                INSERT INTO main.chunks SELECT * FROM next.chunks;
                INSERT INTO main.index_meta SELECT * FROM next.index_meta WHERE key != 'generation';
                """)
            try IndexFile.advanceGeneration(connection)
        }
    }

    /// Deletes a document and its chunks; returns the vector ids its chunks used.
    private func deleteDocument(at path: String) throws -> [Int64] {
        let vectors = try connection.prepare(
            "SELECT c.vector_id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.path = ?1")
        vectors.bind([.text(path)])
        var ids: [Int64] = []
        while try vectors.step() { ids.append(vectors.int(0)) }
        try connection.prepare("DELETE FROM documents WHERE path = ?1").bind([.text(path)]).run()
        return ids
    }

    /// Deletes the vectors among `ids` that no chunk refers to any more.
    private func deleteUnusedVectors(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        let delete = try connection.prepare(
            "DELETE FROM vectors WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM chunks WHERE vector_id = ?1)")
        for id in Set(ids) { try delete.bind([.int(id)]).run() }
    }
}

import Foundation

/// The PostgreSQL index's writer, through one connection that holds the index's advisory locks for as long as the
/// store lives.
///
/// The same contract as ``SQLiteIndexStore``: the recipe guard, one transaction per batch, readers that never
/// see half a batch (PostgreSQL's snapshots), the embedding cache by text hash. A second writer of the same
/// index is refused (``StoreError`` `.locked`) or waits for the lock, except that the writers of different shards
/// of one tree (`--shard I/N`) write at once: their files are disjoint. When the connection is lost, the batch in
/// flight was rolled back by the server; the store connects again, takes its locks again, and runs the batch once
/// more (writes replace documents by path, so a batch may run twice).
public actor PostgresIndexStore: IndexStore {
    private let executor: DispatchQueueExecutor
    private var connection: PostgresConnection
    public nonisolated let location: PostgresLocation
    /// False for a dry run's store on a schema embed has not made: it reads as an empty index.
    private let exists: Bool
    /// The locks this store holds, to take them again after a reconnect; nil for a dry run's, which holds none.
    private let writer: Writer?

    /// Which writer a store is, for its locks.
    public enum Writer: Sendable, Equatable {
        /// Writes anywhere in the index: excludes every other writer.
        case whole
        /// Writes one shard's files: excludes writers of the whole index and of the same shard only.
        case shard(IngestShard)
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Connects, takes the index's writer locks (waiting for them when `wait`), and brings the schema up to date.
    /// - Parameters:
    ///   - writer: the whole index (the default), or one shard of its tree.
    ///   - create: make the index when the schema holds none; when false, a missing index is ``StoreError``
    ///     `.cannotOpen` (reindex and remove need one) and nothing is created.
    /// - Throws: ``StoreError``: `.locked` when another writer holds the index, `.cannotOpen` when the server
    ///   cannot be reached or lacks pgvector, `.notAnIndex` for a schema of a newer embed or another application.
    public init(_ location: PostgresLocation, wait: Bool, create: Bool = true, writer: Writer = .whole) throws {
        self.location = location
        executor = DispatchQueueExecutor(label: "embed.postgres")
        connection = try Self.connect(location, as: writer, wait: wait)
        if !create, try PostgresSchema.applied(connection).isEmpty { throw StoreError.missingIndex(location.display) }
        try PostgresSchema.migrate(connection)
        exists = true
        self.writer = writer
    }

    /// A store for a dry run: it takes no lock and changes nothing (the pipeline's dry run only reads). A schema
    /// embed has not made reads as an empty index.
    public init(dryRunOf location: PostgresLocation) throws {
        self.location = location
        executor = DispatchQueueExecutor(label: "embed.postgres")
        connection = try Self.connect(location, as: nil, wait: false)
        exists = try !PostgresSchema.applied(connection).isEmpty
        writer = nil
    }

    /// Connects and takes the locks of `writer` (none when nil), waiting for them when `wait`.
    ///
    /// Two advisory locks: the index's (the hash of its schema), exclusive for a writer of the whole index and
    /// shared for a shard's; and, for a shard, the shard's own (the hash of the schema and `I/N`), exclusive.
    private static func connect(_ location: PostgresLocation, as writer: Writer?, wait: Bool) throws -> PostgresConnection {
        let connection = try PostgresConnection(location)
        try connection.execute("SET search_path TO \(location.schema), public")
        guard let writer else { return connection }
        var locks = [(function: "advisory_lock", space: indexLockSpace, key: location.schema)]
        if case .shard(let shard) = writer {
            locks = [
                ("advisory_lock_shared", indexLockSpace, location.schema),
                ("advisory_lock", shardLockSpace, "\(location.schema) \(shard)"),
            ]
        }
        for lock in locks {
            if wait {
                try connection.query("SELECT pg_\(lock.function)(\(lock.space), hashtext($1))", [.text(lock.key)])
            } else {
                let taken = try connection.query(
                    "SELECT pg_try_\(lock.function)(\(lock.space), hashtext($1))::int", [.text(lock.key)])
                guard taken.int(0, 0) == 1 else {
                    let what = if case .shard(let shard) = writer { " or shard \(shard) of it" } else { "" }
                    throw StoreError(
                        .locked,
                        "another ingest, reindex or remove is writing \(location.display) (schema \(location.schema))"
                            + "\(what); run again when it has finished, or use --wait", path: location.display)
                }
            }
        }
        return connection
    }

    /// The first keys of the advisory locks of an index (`embd`) and of its shards (`embs`).
    static let indexLockSpace: Int32 = 0x656d_6264
    static let shardLockSpace: Int32 = 0x656d_6273

    /// Runs `body` on the connection; when the connection was lost, connects again (taking the lock again,
    /// without waiting: another writer may have taken it meanwhile) and runs it again, up to three times.
    @discardableResult
    private func withReconnect<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try body(connection)
            } catch let error as StoreError where error.code == .connectionLost && attempt < 3 {
                attempt += 1
                Thread.sleep(forTimeInterval: 0.5 * Double(attempt))
                connection = try Self.connect(location, as: writer, wait: false)
            }
        }
    }

    /// What the index was built with; nil for an index never written.
    public func recipe() throws -> IndexRecipe? {
        guard exists else { return nil }
        return try withReconnect { try PostgresIndexMeta.recipe($0) }
    }

    public func roots() throws -> [IngestRoot] {
        guard exists else { return [] }
        return try withReconnect { try PostgresIndexMeta.roots($0) }
    }

    public func prepare(_ settings: IndexSettings, roots: [IngestRoot]) throws {
        try withReconnect { connection in
            try connection.transaction {
                if let stored = try PostgresIndexMeta.settings(connection) {
                    guard stored == settings else {
                        throw StoreError(
                            .mismatch,
                            IndexFile.mismatchMessage(stored: stored, requested: settings, path: location.display),
                            path: location.display)
                    }
                } else {
                    try PostgresIndexMeta.set(connection, IndexFile.Key.settings, IndexFile.encode(settings))
                }
                // Many shards write one store: the roots are recorded whole, and each writer names its shard.
                let whole = roots.map { IngestRoot(path: $0.path, options: $0.options) }
                let known = IngestRoot.recording(whole, in: try PostgresIndexMeta.roots(connection))
                try PostgresIndexMeta.set(connection, IndexFile.Key.roots, IndexFile.encode(known))
            }
        }
    }

    public func checkCompatible(_ settings: IndexSettings) throws {
        guard exists else { return }
        if let stored = try withReconnect({ try PostgresIndexMeta.settings($0) }), stored != settings {
            throw StoreError(
                .mismatch, IndexFile.mismatchMessage(stored: stored, requested: settings, path: location.display),
                path: location.display)
        }
    }

    public func recordEmbedder(_ openai: OpenAIRecipe?) throws {
        try withReconnect {
            try PostgresIndexMeta.set($0, IndexFile.Key.embedderOptions, IndexFile.encode(openai ?? OpenAIRecipe()))
        }
    }

    public func documentStates() throws -> [String: StoredDocumentState] {
        guard exists else { return [:] }
        return try withReconnect { connection in
            let rows = try connection.query("SELECT path, size, mtime_ns, content_hash, chunk_count FROM documents")
            var states: [String: StoredDocumentState] = [:]
            states.reserveCapacity(rows.count)
            for row in 0..<rows.count {
                states[rows.text(row, 0)] = StoredDocumentState(
                    size: rows.int(row, 1), modificationTimeNanoseconds: rows.int(row, 2),
                    contentHash: rows.blob(row, 3), chunkCount: Int(rows.int(row, 4)))
            }
            return states
        }
    }

    public func cachedVectors(for textHashes: [ContentDigest]) throws -> [ContentDigest: [Float]] {
        guard exists, !textHashes.isEmpty else { return [:] }
        return try withReconnect { connection in
            let rows = try connection.query(
                """
                SELECT DISTINCT ON (text_hash) text_hash, embedding FROM chunks
                WHERE text_hash = ANY($1::bytea[]) AND embedding IS NOT NULL
                """, [.byteaArray(textHashes)])
            var found: [ContentDigest: [Float]] = [:]
            for row in 0..<rows.count {
                if let vector = rows.vector(row, 1) { found[rows.blob(row, 0)] = vector }
            }
            return found
        }
    }

    public func skippedFiles() throws -> [String: SkippedFile] {
        guard exists else { return [:] }
        return try withReconnect { connection in
            let rows = try connection.query(
                "SELECT path, size, mtime_ns, reason, max_file_size, rules FROM skipped_files")
            var skipped: [String: SkippedFile] = [:]
            for row in 0..<rows.count {
                guard let reason = SkippedFile.Reason(rawValue: rows.text(row, 3)) else { continue }
                let path = rows.text(row, 0)
                skipped[path] = SkippedFile(
                    path: path, size: rows.int(row, 1), modificationTimeNanoseconds: rows.int(row, 2), reason: reason,
                    maxFileSize: rows.int(row, 4), rules: rows.text(row, 5))
            }
            return skipped
        }
    }

    public func write(_ documents: [IndexedDocument], skipped: [SkippedFile]) throws {
        guard !documents.isEmpty || !skipped.isEmpty else { return }
        let now = Int64(Date().timeIntervalSince1970)
        try withReconnect { connection in
            try connection.transaction {
                for file in skipped {
                    try connection.query(
                        """
                        INSERT INTO skipped_files (path, size, mtime_ns, reason, max_file_size, rules)
                        VALUES ($1, $2, $3, $4, $5, $6)
                        ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                            reason = excluded.reason, max_file_size = excluded.max_file_size, rules = excluded.rules
                        """,
                        [
                            .text(file.path), .int(file.size), .int(file.modificationTimeNanoseconds),
                            .text(file.reason.rawValue), .int(file.maxFileSize), .text(file.rules),
                        ])
                }
                for document in documents {
                    try connection.query("DELETE FROM skipped_files WHERE path = $1", [.text(document.path)])
                    try connection.query("DELETE FROM documents WHERE path = $1", [.text(document.path)])
                    let inserted = try connection.query(
                        """
                        INSERT INTO documents (path, size, mtime_ns, content_hash, format, title, chunk_count, indexed_at)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
                        """,
                        [
                            .text(document.path), .int(document.size), .int(document.modificationTimeNanoseconds),
                            .bytes(document.contentHash), .text(document.format.rawValue),
                            document.title.map { .text($0) } ?? .null, .int(Int64(document.chunks.count)), .int(now),
                        ])
                    let documentID = inserted.int(0, 0)
                    for (index, chunk) in document.chunks.enumerated() {
                        let vector = document.vectors[index]
                        try connection.query(
                            """
                            INSERT INTO chunks (document_id, ordinal, text, start_offset, end_offset, line, heading_path,
                                                token_count, text_hash, embedding)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::vector)
                            """,
                            [
                                .int(documentID), .int(Int64(chunk.ordinal)), .text(chunk.text),
                                .int(Int64(chunk.startOffset)), .int(Int64(chunk.endOffset)), .int(Int64(chunk.line)),
                                .text(IndexFile.encodeHeadingPath(chunk.headingPath)), .int(Int64(chunk.tokenCount)),
                                .bytes(document.textHashes[index]), vector.isEmpty ? .null : .vector(vector),
                            ])
                    }
                }
            }
        }
    }

    public func touch(_ documents: [(path: String, size: Int64, modificationTimeNanoseconds: Int64)]) throws {
        guard !documents.isEmpty else { return }
        try withReconnect { connection in
            try connection.transaction {
                for document in documents {
                    try connection.query(
                        "UPDATE documents SET size = $2, mtime_ns = $3 WHERE path = $1",
                        [.text(document.path), .int(document.size), .int(document.modificationTimeNanoseconds)])
                    try connection.query("DELETE FROM skipped_files WHERE path = $1", [.text(document.path)])
                }
            }
        }
    }

    public func remove(documents: [String], skips: [String], roots: [String]) throws {
        guard !documents.isEmpty || !skips.isEmpty || !roots.isEmpty else { return }
        try withReconnect { connection in
            try connection.transaction {
                if !documents.isEmpty {
                    try connection.query("DELETE FROM documents WHERE path = ANY($1::text[])", [.textArray(documents)])
                }
                if !skips.isEmpty {
                    try connection.query("DELETE FROM skipped_files WHERE path = ANY($1::text[])", [.textArray(skips)])
                }
                if !roots.isEmpty {
                    let gone = Set(roots)
                    let kept = try PostgresIndexMeta.roots(connection).filter { !gone.contains($0.path) }
                    try PostgresIndexMeta.set(connection, IndexFile.Key.roots, IndexFile.encode(kept))
                }
            }
        }
    }

    /// A new, empty index in a schema beside this one, for `--reembed`: build it, then ``swapIn(_:)``. A rebuild
    /// left by a killed run is dropped first.
    public func makeRebuild() throws -> PostgresIndexStore {
        let schema = Self.rebuildSchema(of: location.schema)
        try withReconnect { try $0.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        return try PostgresIndexStore(location.inSchema(schema), wait: false, writer: writer ?? .whole)
    }

    /// Puts `rebuild`'s schema in this index's place, in one transaction: queries see the old index until it
    /// commits, and the new one after.
    public func swapIn(_ rebuild: PostgresIndexStore) throws {
        let (schema, next, old) = (location.schema, rebuild.location.schema, String(location.schema.prefix(58)) + "__old")
        try withReconnect { connection in
            try connection.transaction {
                try connection.execute(
                    """
                    DROP SCHEMA IF EXISTS \(old) CASCADE;
                    ALTER SCHEMA \(schema) RENAME TO \(old);
                    ALTER SCHEMA \(next) RENAME TO \(schema);
                    DROP SCHEMA \(old) CASCADE;
                    """)
            }
        }
    }

    /// The schema a `--reembed` of the index in `schema` is built in (at most 63 characters, like every name).
    static func rebuildSchema(of schema: String) -> String {
        String(schema.prefix(63 - 9)) + "__rebuild"
    }

    /// Nothing is derived from the tables outside PostgreSQL: its own indexes follow every write.
    public func refreshVectorFile() throws -> String? { nil }
}

extension PostgresIndexStore {
    /// The approximate index the index records.
    public func approximateIndex() throws -> ApproximateIndex {
        try withReconnect { try PostgresIndexMeta.approximateIndex($0) }
    }

    /// The name of the HNSW index over the chunks' vectors.
    static let hnswIndexName = "chunks_embedding_hnsw"

    /// Builds, rebuilds or drops the approximate index so that the index keeps `wanted` (nil: what it records),
    /// and records it. Built after the run's writes, since building over the rows is faster than growing the
    /// graph row by row; rows written later join it as they come.
    /// - Returns: what the index keeps now.
    @discardableResult
    public func applyApproximateIndex(_ wanted: ApproximateIndex?, dimension: Int) throws -> ApproximateIndex {
        try withReconnect { connection in
            let recorded = try PostgresIndexMeta.approximateIndex(connection)
            let target = wanted ?? recorded
            let exists = try connection.query(
                "SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2",
                [.text(location.schema), .text(Self.hnswIndexName)]
            ).count > 0
            if target == recorded && exists == (target.kind == .hnsw) { return target }
            // Only the search setting changed: recorded, and the graph kept.
            let sameGraph =
                target.kind == recorded.kind && target.m == recorded.m && target.efConstruction == recorded.efConstruction
                && exists == (target.kind == .hnsw)
            try connection.transaction {
                if !sameGraph { try connection.execute("DROP INDEX IF EXISTS \(Self.hnswIndexName)") }
                if target.kind == .hnsw && !sameGraph {
                    // Built in memory when it fits: many times faster than spilling the graph to disk.
                    try connection.execute("SET LOCAL maintenance_work_mem = '1GB'")
                    // An expression index: the column holds vectors of any dimension; HNSW needs one.
                    try connection.execute(
                        "CREATE INDEX \(Self.hnswIndexName) ON chunks USING hnsw ((embedding::vector(\(dimension))) "
                            + "vector_ip_ops) WITH (m = \(target.m), ef_construction = \(target.efConstruction))")
                }
                try PostgresIndexMeta.set(connection, PostgresIndexMeta.approximateIndexKey, IndexFile.encode(target))
            }
            return target
        }
    }
}

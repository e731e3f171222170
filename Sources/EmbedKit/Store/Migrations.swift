/// The index schema, as named, ordered, append-only migrations.
///
/// Never edit a migration that has shipped: add a new one. Each runs in its own transaction and its
/// identifier is recorded in `schema_migrations`, so an index is upgraded in place on open.
enum Migrations {
    static let all: [(identifier: String, sql: String)] = [
        (
            "v1-documents-chunks-vectors",
            """
            CREATE TABLE index_meta (
                key   TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );
            CREATE TABLE documents (
                id           INTEGER PRIMARY KEY,
                path         TEXT NOT NULL UNIQUE,
                size         INTEGER NOT NULL,
                mtime_ns     INTEGER NOT NULL,
                content_hash BLOB NOT NULL,
                format       TEXT NOT NULL,
                title        TEXT,
                chunk_count  INTEGER NOT NULL,
                indexed_at   INTEGER NOT NULL
            );
            CREATE INDEX documents_by_content_hash ON documents(content_hash);
            CREATE TABLE vectors (
                id        INTEGER PRIMARY KEY,
                text_hash BLOB NOT NULL UNIQUE,
                embedding BLOB NOT NULL
            );
            CREATE TABLE chunks (
                id           INTEGER PRIMARY KEY,
                document_id  INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                ordinal      INTEGER NOT NULL,
                text         TEXT NOT NULL,
                start_offset INTEGER NOT NULL,
                end_offset   INTEGER NOT NULL,
                line         INTEGER NOT NULL,
                heading_path TEXT NOT NULL,
                token_count  INTEGER NOT NULL,
                vector_id    INTEGER NOT NULL REFERENCES vectors(id),
                UNIQUE (document_id, ordinal)
            );
            CREATE INDEX chunks_by_vector ON chunks(vector_id);
            """
        ),
        (
            // Files skipped for a reason that lasts until they change, so cron runs do not report them again.
            "v2-skipped-files",
            """
            CREATE TABLE skipped_files (
                path          TEXT PRIMARY KEY,
                size          INTEGER NOT NULL,
                mtime_ns      INTEGER NOT NULL,
                reason        TEXT NOT NULL,
                max_file_size INTEGER NOT NULL,
                rules         TEXT NOT NULL
            );
            """
        ),
        (
            // Keyword search: an FTS5 index over chunk text and heading path, kept in step with `chunks` by
            // triggers, so every write (and cascade from `documents`) updates it in the same transaction.
            // Built from the chunks already there when an older index is first opened by a writer: by
            // `KeywordIndex.build`, run after this SQL in the same transaction, which reports progress.
            "v3-chunks-fts",
            """
            CREATE VIRTUAL TABLE chunks_fts USING fts5(
                text, heading_path,
                content = 'chunks', content_rowid = 'id',
                tokenize = 'porter unicode61 remove_diacritics 2'
            );
            CREATE TRIGGER chunks_fts_after_insert AFTER INSERT ON chunks BEGIN
                INSERT INTO chunks_fts(rowid, text, heading_path) VALUES (new.id, new.text, new.heading_path);
            END;
            CREATE TRIGGER chunks_fts_after_delete AFTER DELETE ON chunks BEGIN
                INSERT INTO chunks_fts(chunks_fts, rowid, text, heading_path)
                    VALUES ('delete', old.id, old.text, old.heading_path);
            END;
            CREATE TRIGGER chunks_fts_after_update AFTER UPDATE ON chunks BEGIN
                INSERT INTO chunks_fts(chunks_fts, rowid, text, heading_path)
                    VALUES ('delete', old.id, old.text, old.heading_path);
                INSERT INTO chunks_fts(rowid, text, heading_path) VALUES (new.id, new.text, new.heading_path);
            END;
            """
        ),
        (
            // No table changes: from here on, `vectors.embedding` may be empty (zero bytes), for the chunks without
            // words that an index's recipe leaves without a vector (see WordlessText). Recorded so that an older
            // embed, which would read an empty vector as damage, refuses the index as one from a newer embed.
            "v4-chunks-without-vectors",
            "SELECT 1;"
        ),
        (
            // The change log that lets the vector file be updated by what changed instead of rewritten: every
            // chunk inserted, deleted or changed is logged, in the same transaction, by triggers. AUTOINCREMENT so
            // that a sequence number is never reused once the log is pruned (see `IndexFile.updateVectorFile`).
            "v5-vector-changes",
            IndexFile.changeLogSQL(ifNotExists: false)
        ),
    ]

    /// Applies the migrations this index has not seen yet.
    /// - Parameter keywordIndexProgress: told how the build of the keyword index (migration v3) goes.
    static func migrate(_ connection: SQLiteConnection, keywordIndexProgress: KeywordIndexProgress? = nil) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (identifier TEXT PRIMARY KEY)")
        let done = try checkKnown(connection)
        for migration in all where !done.contains(migration.identifier) {
            try connection.transaction {
                try connection.execute(migration.sql)
                if migration.identifier == KeywordIndex.migration {
                    try KeywordIndex.build(connection, reason: .upgrade, progress: keywordIndexProgress)
                }
                try connection.prepare("INSERT INTO schema_migrations(identifier) VALUES (?1)")
                    .bind([.text(migration.identifier)]).run()
            }
        }
    }

    /// The migrations this index has seen; throws when one of them is unknown to this version, whose
    /// readers would otherwise misread a schema they do not know.
    @discardableResult
    static func checkKnown(_ connection: SQLiteConnection) throws -> Set<String> {
        var done = Set<String>()
        // An index from before the table existed has had nothing newer applied.
        let hasTable = try connection.prepare(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard try hasTable.step() else { return done }
        let applied = try connection.prepare("SELECT identifier FROM schema_migrations")
        while try applied.step() { done.insert(applied.text(0)) }
        let known = Set(all.map(\.identifier))
        if let unknown = done.subtracting(known).sorted().first {
            throw StoreError(
                .notAnIndex,
                "\(connection.path) was written by a newer version of embed (migration \(unknown)); upgrade embed",
                path: connection.path)
        }
        return done
    }
}

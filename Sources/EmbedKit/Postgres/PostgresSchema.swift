/// The PostgreSQL index's schema, as named, ordered, append-only migrations, like the SQLite index's
/// (``Migrations``): each runs in its own transaction and is recorded in `schema_migrations`, and an index that
/// records a migration this version does not know is refused.
///
/// The index lives in one schema of the database (``PostgresLocation/schema``); its tables mirror the SQLite
/// index's, except that a chunk carries its own vector (`embedding`, pgvector's `vector`, NULL for a chunk
/// without words) and its text hash (the embedding cache's key), and its full-text search vector.
enum PostgresSchema {
    static let migrations: [(identifier: String, sql: String)] = [
        (
            "pg1-documents-chunks",
            """
            CREATE TABLE index_meta (
                key   text PRIMARY KEY,
                value text NOT NULL
            );
            CREATE TABLE documents (
                id           bigserial PRIMARY KEY,
                path         text NOT NULL UNIQUE,
                size         bigint NOT NULL,
                mtime_ns     bigint NOT NULL,
                content_hash bytea NOT NULL,
                format       text NOT NULL,
                title        text,
                chunk_count  integer NOT NULL,
                indexed_at   bigint NOT NULL
            );
            CREATE TABLE chunks (
                id           bigserial PRIMARY KEY,
                document_id  bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                ordinal      integer NOT NULL,
                text         text NOT NULL,
                start_offset integer NOT NULL,
                end_offset   integer NOT NULL,
                line         integer NOT NULL,
                heading_path text NOT NULL,
                token_count  integer NOT NULL,
                text_hash    bytea NOT NULL,
                embedding    vector,
                search       tsvector GENERATED ALWAYS AS
                                 (to_tsvector('english'::regconfig, heading_path || ' ' || text)) STORED,
                UNIQUE (document_id, ordinal)
            );
            CREATE INDEX chunks_by_text_hash ON chunks (text_hash);
            CREATE INDEX chunks_search ON chunks USING gin (search);
            CREATE TABLE skipped_files (
                path          text PRIMARY KEY,
                size          bigint NOT NULL,
                mtime_ns      bigint NOT NULL,
                reason        text NOT NULL,
                max_file_size bigint NOT NULL,
                rules         text NOT NULL
            );
            """
        )
    ]

    /// Creates the schema when missing and applies the migrations it has not seen, each in a transaction.
    /// - Throws: ``StoreError`` `.notAnIndex` for a schema written by a newer embed, or one holding other tables;
    ///   `.cannotOpen` when the database has no `vector` extension and this user may not create it.
    static func migrate(_ connection: PostgresConnection) throws {
        let schema = connection.location.schema
        // Writers starting on a new schema at once (shards) would race in CREATE ... IF NOT EXISTS, which is not
        // safe against concurrent creation: one at a time here.
        try connection.query("SELECT pg_advisory_lock(\(migrationLockSpace), hashtext($1))", [.text(schema)])
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(migrationLockSpace), hashtext($1))", [.text(schema)]) }
        try ensureVectorExtension(connection)
        let done = try applied(connection)
        if done.isEmpty, try tableCount(connection) > 0 {
            throw StoreError(
                .notAnIndex,
                "\(connection.location.display): the schema \(schema) holds other tables: it is not an embed index; "
                    + "name another with ?schema=NAME", path: connection.location.display)
        }
        try connection.execute("CREATE SCHEMA IF NOT EXISTS \(schema)")
        try connection.execute("CREATE TABLE IF NOT EXISTS \(schema).schema_migrations (identifier text PRIMARY KEY)")
        for migration in migrations where !done.contains(migration.identifier) {
            try connection.transaction {
                // Two writers starting on a new schema at once: the second waits here, then finds it done.
                try connection.execute("LOCK TABLE \(schema).schema_migrations IN EXCLUSIVE MODE")
                if try applied(connection).contains(migration.identifier) { return }
                try connection.execute("SET LOCAL search_path TO \(schema), public")
                try connection.execute(migration.sql)
                try connection.query(
                    "INSERT INTO \(schema).schema_migrations (identifier) VALUES ($1)", [.text(migration.identifier)])
            }
        }
    }

    /// The first key of the advisory lock that makes writers migrate one at a time (`embm`).
    static let migrationLockSpace: Int32 = 0x656d_626d

    /// The migrations the index has seen; throws when one of them is unknown to this version. An empty set when
    /// the schema or its table is missing (a new index).
    @discardableResult
    static func applied(_ connection: PostgresConnection) throws -> Set<String> {
        let schema = connection.location.schema
        let exists = try connection.query(
            "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'", [.text(schema)])
        guard exists.count > 0 else { return [] }
        let rows = try connection.query("SELECT identifier FROM \(schema).schema_migrations")
        let done = Set((0..<rows.count).map { rows.text($0, 0) })
        if let unknown = done.subtracting(migrations.map(\.identifier)).sorted().first {
            throw StoreError(
                .notAnIndex,
                "\(connection.location.display) (schema \(schema)) was written by a newer version of embed (migration "
                    + "\(unknown)); upgrade embed", path: connection.location.display)
        }
        return done
    }

    private static func tableCount(_ connection: PostgresConnection) throws -> Int {
        let rows = try connection.query(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1", [.text(connection.location.schema)])
        return Int(rows.int(0, 0))
    }

    /// Creates pgvector's extension when the database lacks it and this user may; otherwise says who must.
    static func ensureVectorExtension(_ connection: PostgresConnection) throws {
        let installed = try connection.query("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
        guard installed.count == 0 else { return }
        do {
            try connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        } catch {
            let available = try connection.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            let display = connection.location.display
            throw StoreError(
                .cannotOpen,
                available.count == 0
                    ? "\(display): the server has no pgvector (the `vector` extension): install it on the server "
                        + "(https://github.com/pgvector/pgvector), then run again"
                    : "\(display): the database lacks the `vector` extension and this user may not create it: ask its "
                        + "owner to run CREATE EXTENSION vector; then run again", path: display)
        }
    }
}

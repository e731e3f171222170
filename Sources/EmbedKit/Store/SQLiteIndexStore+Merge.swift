import Foundation

/// What merging one index into another did.
public struct MergeOutcome: Sendable, Equatable, Codable {
    /// Documents new to the output.
    public var added = 0
    /// Documents the output held under the same path, replaced by the input's newer contents.
    public var replaced = 0
    /// Documents the output already held, the same or newer: left as they were.
    public var kept = 0
    /// Chunks written.
    public var chunks = 0
    /// True when the input was merged before, unchanged since: nothing was done.
    public var alreadyMerged = false

    public init() {}
}

extension SQLiteIndexStore {
    /// Merges the index at `source` into this one, in one transaction, so that a merge killed at any moment
    /// leaves this index as it was before or with the whole input in it.
    ///
    /// A document this index lacks is added; one it holds under the same path is replaced when the input's
    /// contents differ and are at least as new (modification time), and kept otherwise. Vectors are shared by
    /// text hash, as within one index; the keyword index and the change log follow by their triggers. Skipped
    /// files are remembered, and the input's roots are added without their shard: the merged index holds the
    /// shards together. The input is recorded by its id and generation, so merging it again while it has not
    /// changed does nothing (a merge of many inputs resumes where it was killed).
    ///
    /// The caller has checked that both indexes have the same settings.
    /// - Throws: ``StoreError`` `.corrupt` when the input holds vectors of another size or fails SQLite's
    ///   quick check; `.notAnIndex` when it has no id (an index from before ids: open it once with this embed).
    public func merge(indexAt source: String) throws -> MergeOutcome {
        guard let settings = try IndexFile.settings(connection) else {
            throw StoreError(.notAnIndex, "\(path) has no settings yet: record them before merging", path: path)
        }
        try connection.prepare("ATTACH DATABASE ?1 AS src")
            .bind([.text(SQLiteConnection.fileURI(source, query: "mode=ro"))]).run()
        defer { try? connection.execute("DETACH DATABASE src") }
        var outcome = MergeOutcome()
        try connection.transaction {
            // Everything below reads one snapshot of the input: a writer of it cannot show us half a batch.
            let mark = try Self.mergeMark(connection, source: source)
            if try IndexFile.meta(connection, mark.key) == mark.value {
                outcome.alreadyMerged = true
                return
            }
            try Self.checkMergeable(connection, source: source, dimension: settings.embedder.dimension)
            try IndexFile.advanceGeneration(connection)
            try connection.execute(
                """
                CREATE TEMP TABLE merge_documents AS
                    SELECT s.id AS source_id, s.path AS path, m.id AS replaced_id
                    FROM src.documents s LEFT JOIN main.documents m ON m.path = s.path
                    WHERE m.id IS NULL OR (m.content_hash != s.content_hash AND s.mtime_ns >= m.mtime_ns);
                CREATE TEMP TABLE merge_orphans AS
                    SELECT DISTINCT c.vector_id AS id FROM main.chunks c
                    JOIN temp.merge_documents d ON d.replaced_id = c.document_id;
                """)
            defer { try? connection.execute("DROP TABLE IF EXISTS temp.merge_documents; DROP TABLE IF EXISTS temp.merge_orphans") }
            outcome.added = try Self.count(connection, "SELECT count(*) FROM temp.merge_documents WHERE replaced_id IS NULL")
            outcome.replaced = try Self.count(connection, "SELECT count(*) FROM temp.merge_documents WHERE replaced_id IS NOT NULL")
            outcome.kept = try Self.count(connection, "SELECT count(*) FROM src.documents") - outcome.added - outcome.replaced
            try connection.execute(
                """
                DELETE FROM main.documents WHERE id IN (SELECT replaced_id FROM temp.merge_documents);
                INSERT INTO main.documents(path, size, mtime_ns, content_hash, format, title, chunk_count, indexed_at)
                    SELECT s.path, s.size, s.mtime_ns, s.content_hash, s.format, s.title, s.chunk_count, s.indexed_at
                    FROM src.documents s JOIN temp.merge_documents d ON d.source_id = s.id ORDER BY s.path;
                INSERT OR IGNORE INTO main.vectors(text_hash, embedding)
                    SELECT v.text_hash, v.embedding FROM src.vectors v
                    WHERE v.id IN (SELECT c.vector_id FROM src.chunks c
                                   JOIN temp.merge_documents d ON d.source_id = c.document_id)
                    ORDER BY v.id;
                INSERT INTO main.chunks(document_id, ordinal, text, start_offset, end_offset, line, heading_path,
                                        token_count, vector_id)
                    SELECT m.id, c.ordinal, c.text, c.start_offset, c.end_offset, c.line, c.heading_path,
                           c.token_count, mv.id
                    FROM src.chunks c
                    JOIN temp.merge_documents d ON d.source_id = c.document_id
                    JOIN main.documents m ON m.path = d.path
                    JOIN src.vectors sv ON sv.id = c.vector_id
                    JOIN main.vectors mv ON mv.text_hash = sv.text_hash
                    ORDER BY m.id, c.ordinal;
                """)
            outcome.chunks = connection.changes
            try connection.execute(
                """
                DELETE FROM main.vectors WHERE id IN (SELECT id FROM temp.merge_orphans)
                    AND NOT EXISTS (SELECT 1 FROM main.chunks c WHERE c.vector_id = main.vectors.id);
                """)
            if try Self.hasTable(connection, schema: "src", "skipped_files") {
                try connection.execute(
                    """
                    INSERT OR IGNORE INTO main.skipped_files SELECT * FROM src.skipped_files
                        WHERE path NOT IN (SELECT path FROM main.documents);
                    """)
            }
            try Self.mergeRoots(connection, source: source)
            try IndexFile.setMeta(connection, mark.key, mark.value)
            Failpoint.reach("merge-input-uncommitted")
        }
        return outcome
    }

    /// The `index_meta` row that records a merged input: its id, and its generation and documents when merged.
    private static func mergeMark(_ connection: SQLiteConnection, source: String) throws -> (key: String, value: String) {
        func meta(_ key: String) throws -> String? {
            let statement = try connection.prepare("SELECT value FROM src.index_meta WHERE key = ?1")
            statement.bind([.text(key)])
            return try statement.step() ? statement.text(0) : nil
        }
        guard let id = try meta(IndexFile.Key.indexID) else {
            throw StoreError(
                .notAnIndex,
                "\(source) has no index id (it was made by an older embed): run `embed reindex --db \(source)` once, "
                    + "then merge it", path: source)
        }
        let generation = try meta(IndexFile.Key.generation) ?? "0"
        let documents = try count(connection, "SELECT count(*) FROM src.documents")
        return ("merged:\(id)", "generation \(generation), \(documents) documents")
    }

    /// Refuses an input that SQLite finds damaged or whose vectors are not of the output's dimension.
    private static func checkMergeable(_ connection: SQLiteConnection, source: String, dimension: Int) throws {
        let check = try connection.prepare("PRAGMA src.quick_check(1)")
        if try check.step(), check.text(0) != "ok" {
            throw StoreError(
                .corrupt, "\(source) is damaged (SQLite: \(check.text(0))); build that shard again", path: source)
        }
        let bad = try connection.prepare(
            "SELECT count(*) FROM src.vectors WHERE length(embedding) != 0 AND length(embedding) != ?1")
        bad.bind([.int(Int64(dimension * MemoryLayout<Float>.size))])
        if try bad.step(), bad.int(0) > 0 {
            throw StoreError(
                .corrupt,
                "\(source) holds \(bad.int(0)) vectors that are not \(dimension) floats long; build that shard again",
                path: source)
        }
        let dangling = try connection.prepare(
            "SELECT count(*) FROM src.chunks c WHERE NOT EXISTS (SELECT 1 FROM src.vectors v WHERE v.id = c.vector_id)")
        if try dangling.step(), dangling.int(0) > 0 {
            throw StoreError(
                .corrupt, "\(source) holds \(dangling.int(0)) chunks without their vector; build that shard again",
                path: source)
        }
    }

    /// Adds the input's roots that this index lacks, and takes the shard off every root both hold.
    private static func mergeRoots(_ connection: SQLiteConnection, source: String) throws {
        let statement = try connection.prepare("SELECT value FROM src.index_meta WHERE key = ?1")
        statement.bind([.text(IndexFile.Key.roots)])
        guard try statement.step() else { return }
        guard let theirs = try? JSONDecoder().decode([IngestRoot].self, from: Data(statement.text(0).utf8)) else {
            throw StoreError(.notAnIndex, "\(source): unreadable list of roots", path: source)
        }
        var roots = try IndexFile.roots(connection)
        for root in theirs {
            if let index = roots.firstIndex(where: { $0.path == root.path }) {
                roots[index].shard = nil
            } else {
                roots.append(IngestRoot(path: root.path, options: root.options))
            }
        }
        try IndexFile.setMeta(connection, IndexFile.Key.roots, IndexFile.encode(roots))
    }

    private static func count(_ connection: SQLiteConnection, _ sql: String) throws -> Int {
        let statement = try connection.prepare(sql)
        return try statement.step() ? Int(statement.int(0)) : 0
    }

    private static func hasTable(_ connection: SQLiteConnection, schema: String, _ name: String) throws -> Bool {
        let statement = try connection.prepare("SELECT 1 FROM \(schema).sqlite_master WHERE type = 'table' AND name = ?1")
        statement.bind([.text(name)])
        return try statement.step()
    }
}

import Foundation

/// Read access to a PostgreSQL index, for queries, statistics and export: one connection, used by one task at a
/// time (``EmbeddingIndex`` keeps them in its pool as it keeps SQLite readers). Every method reads one snapshot
/// (a `REPEATABLE READ` read-only transaction), so a writer's batch is seen whole or not at all.
final class PostgresReader: IndexContents, @unchecked Sendable {
    let connection: PostgresConnection
    var location: PostgresLocation { connection.location }

    /// Connects. An index that does not exist yet is not an error here: it has no recipe.
    init(_ location: PostgresLocation) throws {
        connection = try PostgresConnection(location)
        try connection.execute("SET search_path TO \(location.schema), public")
    }

    func snapshot<T>(_ body: () throws -> T) throws -> T {
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { if connection.isUp { _ = try? connection.execute("COMMIT") } }
        return try body()
    }

    func recipe() throws -> IndexRecipe? {
        try snapshot { try PostgresIndexMeta.recipe(connection) }
    }

    /// Throws when the schema is not (yet) an index, naming how to make one.
    func requireIndex() throws {
        guard try !PostgresSchema.applied(connection).isEmpty else {
            throw StoreError(
                .cannotOpen,
                "no index here: \(location.display) has no schema \(location.schema) made by embed; build one with "
                    + "`embed ingest PATH... --db '\(location.display)'`", path: location.display)
        }
    }

    /// PostgreSQL keeps its own indexes whole: nothing beside the tables to check.
    public func vectorFileProblem() throws -> String? { nil }
    public func keywordIndexState() throws -> KeywordIndexState { .ready }
    public func keywordIndexProblem() throws -> KeywordIndexProblem? { nil }

    public func statistics() throws -> IndexStatistics {
        try snapshot {
            try requireIndex()
            let counts = try connection.query(
                """
                SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks),
                       (SELECT count(DISTINCT text_hash) FROM chunks WHERE embedding IS NOT NULL),
                       (SELECT count(*) FROM chunks WHERE embedding IS NULL),
                       (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
                        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r')
                """, [.text(location.schema)])
            var statistics = IndexStatistics(
                documents: Int(counts.int(0, 0)), chunks: Int(counts.int(0, 1)), vectors: Int(counts.int(0, 2)),
                chunksWithoutVector: Int(counts.int(0, 3)), settings: try PostgresIndexMeta.settings(connection),
                roots: try PostgresIndexMeta.roots(connection), bytesOnDisk: counts.int(0, 4))
            statistics.approximateIndex = try PostgresIndexMeta.approximateIndex(connection)
            return statistics
        }
    }

    /// The index's invariants; one line per problem, none when all is well: every document has as many chunks as
    /// it says, and every vector has the index's dimension.
    public func check() throws -> [String] {
        try snapshot {
            try requireIndex()
            var problems: [String] = []
            let miscounted = try connection.query(
                """
                SELECT d.path FROM documents d
                WHERE d.chunk_count != (SELECT count(*) FROM chunks c WHERE c.document_id = d.id) ORDER BY d.path LIMIT 20
                """)
            for row in 0..<miscounted.count {
                problems.append("\(miscounted.text(row, 0)): its chunk count does not match its chunks")
            }
            if let dimension = try PostgresIndexMeta.settings(connection)?.embedder.dimension {
                let wrong = try connection.query(
                    "SELECT count(*) FROM chunks WHERE embedding IS NOT NULL AND vector_dims(embedding) != $1",
                    [.int(Int64(dimension))])
                if wrong.int(0, 0) > 0 {
                    problems.append("\(wrong.int(0, 0)) vectors are not of the index's dimension \(dimension)")
                }
            }
            return problems
        }
    }

    /// Calls `body` with every chunk, in path then ordinal order, with its vector when `withVectors`, from one
    /// snapshot, a thousand rows at a time (a cursor: memory stays flat however large the index).
    public func forEachChunk(withVectors: Bool, _ body: (StoredChunk, [Float]?) throws -> Void) throws {
        try snapshot {
            try requireIndex()
            try connection.execute(
                "DECLARE export CURSOR FOR SELECT \(Self.chunkColumns)\(withVectors ? ", c.embedding" : "") "
                    + "FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY d.path, c.ordinal")
            while true {
                let rows = try connection.query("FETCH 1000 FROM export")
                if rows.count == 0 { break }
                for row in 0..<rows.count {
                    try body(Self.chunk(rows, row), withVectors ? rows.vector(row, 12) : nil)
                }
            }
        }
    }

    /// The chunks with these ids.
    func chunks(ids: [Int64]) throws -> [Int64: StoredChunk] {
        guard !ids.isEmpty else { return [:] }
        let rows = try connection.query(
            "SELECT \(Self.chunkColumns) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY($1::bigint[])",
            [.text("{" + ids.map(String.init).joined(separator: ",") + "}")])
        var found: [Int64: StoredChunk] = [:]
        for row in 0..<rows.count { found[rows.int(row, 0)] = Self.chunk(rows, row) }
        return found
    }

    static let chunkColumns =
        "c.id, d.path, d.format, d.title, c.ordinal, c.text, c.start_offset, c.end_offset, c.line, c.heading_path, "
        + "c.token_count, c.embedding IS NOT NULL"

    static func chunk(_ rows: PostgresRows, _ row: Int) -> StoredChunk {
        StoredChunk(
            id: rows.int(row, 0), path: rows.text(row, 1), format: DocumentFormat(rawValue: rows.text(row, 2)) ?? .text,
            title: rows.isNull(row, 3) ? nil : rows.text(row, 3),
            chunk: Chunk(
                ordinal: Int(rows.int(row, 4)), text: rows.text(row, 5), startOffset: Int(rows.int(row, 6)),
                endOffset: Int(rows.int(row, 7)), line: Int(rows.int(row, 8)),
                headingPath: IndexFile.decodeHeadingPath(rows.text(row, 9)), tokenCount: Int(rows.int(row, 10)),
                isEmbedded: rows.blob(row, 11).first == 1))
    }
}

import Foundation

/// Helpers shared by the index's writer and readers: pragmas, metadata and encodings.
enum IndexFile {
    static func configure(_ connection: SQLiteConnection, writable: Bool) throws {
        // Wait for a writer's transaction instead of failing at once with SQLITE_BUSY.
        try connection.execute("PRAGMA busy_timeout = 10000")
        try connection.execute("PRAGMA foreign_keys = ON")
        if writable {
            // WAL: queries read a consistent snapshot while an ingest writes. NORMAL sync is crash-safe in WAL
            // mode (a power cut may lose the last commits, never consistency).
            try connection.execute("PRAGMA journal_mode = WAL")
            try connection.execute("PRAGMA synchronous = NORMAL")
        }
    }

    static func meta(_ connection: SQLiteConnection, _ key: String) throws -> String? {
        let statement = try connection.prepare("SELECT value FROM index_meta WHERE key = ?1")
        statement.bind([.text(key)])
        return try statement.step() ? statement.text(0) : nil
    }

    static func setMeta(_ connection: SQLiteConnection, _ key: String, _ value: String) throws {
        try connection.prepare(
            "INSERT INTO index_meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        ).bind([.text(key), .text(value)]).run()
    }

    static func settings(_ connection: SQLiteConnection) throws -> IndexSettings? {
        guard let json = try meta(connection, "settings") else { return nil }
        guard let settings = try? JSONDecoder().decode(IndexSettings.self, from: Data(json.utf8)) else {
            throw StoreError(.notAnIndex, "\(connection.path): unreadable index settings", path: connection.path)
        }
        return settings
    }

    static func roots(_ connection: SQLiteConnection) throws -> [IngestRoot] {
        guard let json = try meta(connection, "roots") else { return [] }
        guard let roots = try? JSONDecoder().decode([IngestRoot].self, from: Data(json.utf8)) else {
            throw StoreError(.notAnIndex, "\(connection.path): unreadable list of roots", path: connection.path)
        }
        return roots
    }

    /// The index's generation: a counter that every transaction changing chunks or vectors increments.
    static func generation(_ connection: SQLiteConnection) throws -> Int64 {
        Int64(try meta(connection, "generation") ?? "0") ?? 0
    }

    /// Increments the generation; call inside the transaction that changes chunks or vectors.
    static func advanceGeneration(_ connection: SQLiteConnection) throws {
        try connection.prepare(
            """
            INSERT INTO index_meta(key, value) VALUES ('generation', '1')
            ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
            """
        ).run()
    }

    /// The index's random id, which binds its vector file to it; nil for an index made before ids existed (or
    /// whose id is damaged): no vector file is ever believed for such an index.
    static func indexID(_ connection: SQLiteConnection) throws -> [UInt8]? {
        guard let hex = try meta(connection, "index_id") else { return nil }
        let digits = Array(hex.utf8)
        guard digits.count == 2 * VectorFile.indexIDSize else { return nil }
        var id: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            id.append(byte)
        }
        return id
    }

    /// Gives the index a new random id when it has none (an index made by an older embed) or a damaged one.
    /// Writers only: called when an index is created and before a writer writes its vector file.
    @discardableResult
    static func ensureIndexID(_ connection: SQLiteConnection) throws -> [UInt8] {
        if let id = try indexID(connection) { return id }
        var random = SystemRandomNumberGenerator()
        let id = (0..<VectorFile.indexIDSize).map { _ in UInt8.random(in: 0...255, using: &random) }
        try setMeta(connection, "index_id", id.map { String(format: "%02x", $0) }.joined())
        return id
    }

    /// Runs `body` in one read transaction, so that all it reads is one snapshot of the index; when the caller
    /// already opened a transaction, in that one.
    static func inReadTransaction<T>(_ connection: SQLiteConnection, _ body: () throws -> T) throws -> T {
        if connection.isInTransaction { return try body() }
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        return try body()
    }

    /// Writes `<index>.vectors` from the index as it is now, read in one snapshot so it is consistent (the
    /// caller's transaction when one is open, else its own).
    static func buildVectorFile(_ connection: SQLiteConnection, indexPath: String, dimension: Int) throws {
        try inReadTransaction(connection) {
            guard let indexID = try indexID(connection) else {
                throw StoreError(.corrupt, "\(indexPath): the index has no id to bind a vector file to", path: indexPath)
            }
            let generation = try generation(connection)
            // Chunks left without a vector (an empty one: no words) are not rows of the file.
            let counter = try connection.prepare(
                "SELECT count(*) FROM chunks c JOIN vectors v ON v.id = c.vector_id WHERE length(v.embedding) > 0")
            let count = try counter.step() ? Int(counter.int(0)) : 0
            let rows = try connection.prepare(
                "SELECT c.id, c.document_id, v.embedding FROM chunks c JOIN vectors v ON v.id = c.vector_id "
                    + "WHERE length(v.embedding) > 0 ORDER BY c.id")
            try VectorFile.write(
                path: VectorFile.path(forIndex: indexPath), dimension: dimension, count: count, generation: generation,
                indexID: indexID
            ) { emit in
                while try rows.step() {
                    try rows.withBlob(2) { try emit(rows.int(0), rows.int(1), $0) }
                }
            }
        }
    }

    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func encodeHeadingPath(_ path: [String]) -> String {
        (try? encode(path)) ?? "[]"
    }

    static func decodeHeadingPath(_ json: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }

    static func mismatchMessage(stored: IndexSettings, requested: IndexSettings, path: String) -> String {
        if let message = prefixMismatchMessage(stored: stored.embedder, requested: requested.embedder, path: path) {
            return message + ", or --reembed to rebuild the index with the new prefixes"
        }
        if stored.embedder != requested.embedder {
            return "\(path) was built with the embedder \(stored.embedder), not \(requested.embedder): "
                + "use --embedder \(stored.embedder.name) with the same model, or another --db, "
                + "or --reembed to rebuild the index with the new embedder"
        }
        if stored.chunking == requested.chunking, stored.chunkContext != requested.chunkContext {
            return "\(path) was built with chunk context \(stored.chunkContext.rawValue), not "
                + "\(requested.chunkContext.rawValue): an index embeds all its chunks one way. "
                + "Use --chunk-context \(stored.chunkContext.rawValue) (or leave it out to use the index's own), or another --db, "
                + "or --reembed to rebuild the index with chunk context \(requested.chunkContext.rawValue)"
        }
        if stored.chunking.joinsWrappedLines != requested.chunking.joinsWrappedLines
            || stored.chunking.embedsWordlessChunks != requested.chunking.embedsWordlessChunks
        {
            func describe(_ c: TextChunker.Configuration) -> String {
                "wrapped lines \(c.joinsWrappedLines ? "joined" : "kept") and chunks without words "
                    + (c.embedsWordlessChunks ? "embedded" : "not embedded")
            }
            return "\(path) was built with \(describe(stored.chunking)), not \(describe(requested.chunking)): "
                + "leave out --join-wrapped-lines and --embed-wordless-chunks to use the index's own, or use another "
                + "--db, or --reembed to rebuild the index with the new chunking"
        }
        return "\(path) was built with chunks of \(stored.chunking.maxTokens) tokens overlapping by "
            + "\(stored.chunking.overlapTokens), not \(requested.chunking.maxTokens) and "
            + "\(requested.chunking.overlapTokens): use the same --chunk-tokens and --overlap-tokens, or another --db, "
            + "or --reembed to rebuild the index with the new chunking"
    }

    /// When two identities differ only in their prefixes, what differs and how to use the index's own
    /// (the caller may add more ways out); nil otherwise.
    static func prefixMismatchMessage(stored: EmbedderIdentity, requested: EmbedderIdentity, path: String) -> String? {
        guard stored != requested, stored.withPrefixes(query: "", document: "") == requested.withPrefixes(query: "", document: "")
        else { return nil }
        func describe(_ identity: EmbedderIdentity) -> String {
            "query prefix \(EmbedderIdentity.quoted(identity.queryPrefix)) and document prefix "
                + EmbedderIdentity.quoted(identity.documentPrefix)
        }
        return "\(path) was built with the embedder \(stored.name) (model \(stored.model)) and \(describe(stored)), "
            + "not \(describe(requested)): texts embedded with other prefixes are not comparable. Leave out "
            + "--query-prefix and --document-prefix to use the index's own, or give them as recorded, or use another --db"
    }
}

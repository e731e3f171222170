import Foundation

/// What the index's writer and readers share: pragmas, the `index_meta` rows, and encodings.
enum IndexFile {
    /// The keys of `index_meta`.
    enum Key {
        /// ``IndexSettings``: the embedder's identity, the chunking, the chunk context.
        static let settings = "settings"
        /// ``OpenAIRecipe``: how the openai embedder was configured (`{}` for other embedders).
        static let embedderOptions = "embedder_options"
        /// `[IngestRoot]`.
        static let roots = "roots"
        /// The counter of changes to chunks and vectors.
        static let generation = "generation"
        /// The random id that binds the vector file to the index.
        /// ``VectorQuantization``'s raw value; absent means `.auto`.
        static let quantization = "quantization"
        static let indexID = "index_id"
    }

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
        guard let json = try meta(connection, Key.settings) else { return nil }
        guard let settings = try? JSONDecoder().decode(IndexSettings.self, from: Data(json.utf8)) else {
            throw StoreError(.notAnIndex, "\(connection.path): unreadable index settings", path: connection.path)
        }
        return settings
    }

    static func roots(_ connection: SQLiteConnection) throws -> [IngestRoot] {
        guard let json = try meta(connection, Key.roots) else { return [] }
        guard let roots = try? JSONDecoder().decode([IngestRoot].self, from: Data(json.utf8)) else {
            throw StoreError(.notAnIndex, "\(connection.path): unreadable list of roots", path: connection.path)
        }
        return roots
    }

    /// The openai embedder's recorded configuration; nil when none was recorded (or it is unreadable: the
    /// options then come from the command line, as for an index that recorded none).
    static func openAIRecipe(_ connection: SQLiteConnection) throws -> OpenAIRecipe? {
        guard let json = try meta(connection, Key.embedderOptions) else { return nil }
        return try? JSONDecoder().decode(OpenAIRecipe.self, from: Data(json.utf8))
    }

    /// What the index was built with, from its three rows; nil for an index never written.
    static func recipe(_ connection: SQLiteConnection) throws -> IndexRecipe? {
        guard let settings = try settings(connection) else { return nil }
        let openai = settings.embedder.name == EmbedderKind.openai.rawValue ? try openAIRecipe(connection) : nil
        return IndexRecipe(settings: settings, openai: openai, roots: try roots(connection))
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
        // Nearly every stored path is an array of strings with nothing escaped, as encodeHeadingPath wrote it:
        // split it directly. Decoding JSON for each chunk of each result was a measurable part of a search.
        if json == "[]" { return [] }
        if json.utf8.count >= 4, json.hasPrefix("[\""), json.hasSuffix("\"]"), !json.utf8.contains(UInt8(ascii: "\\")) {
            let parts = json.dropFirst(2).dropLast(2).components(separatedBy: "\",\"")
            if !parts.contains(where: { $0.contains("\"") }) { return parts }
        }
        return (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }
}

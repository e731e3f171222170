import Foundation

/// The `index_meta` rows of a PostgreSQL index: the same keys and JSON documents as a SQLite index's
/// (``IndexFile/Key``), so a recipe reads the same from either store.
enum PostgresIndexMeta {
    static func get(_ connection: PostgresConnection, _ key: String) throws -> String? {
        let rows = try connection.query("SELECT value FROM index_meta WHERE key = $1", [.text(key)])
        return rows.count > 0 ? rows.text(0, 0) : nil
    }

    static func set(_ connection: PostgresConnection, _ key: String, _ value: String) throws {
        try connection.query(
            "INSERT INTO index_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [.text(key), .text(value)])
    }

    static func settings(_ connection: PostgresConnection) throws -> IndexSettings? {
        guard let json = try get(connection, IndexFile.Key.settings) else { return nil }
        guard let settings = try? JSONDecoder().decode(IndexSettings.self, from: Data(json.utf8)) else {
            throw StoreError(
                .notAnIndex, "\(connection.location.display): unreadable index settings", path: connection.location.display)
        }
        return settings
    }

    static func roots(_ connection: PostgresConnection) throws -> [IngestRoot] {
        guard let json = try get(connection, IndexFile.Key.roots) else { return [] }
        guard let roots = try? JSONDecoder().decode([IngestRoot].self, from: Data(json.utf8)) else {
            throw StoreError(
                .notAnIndex, "\(connection.location.display): unreadable list of roots", path: connection.location.display)
        }
        return roots
    }

    /// The key of the recorded ``ApproximateIndex``.
    static let approximateIndexKey = "ann"

    /// The approximate index the index keeps; none when it records none.
    static func approximateIndex(_ connection: PostgresConnection) throws -> ApproximateIndex {
        guard let json = try get(connection, approximateIndexKey),
            let recorded = try? JSONDecoder().decode(ApproximateIndex.self, from: Data(json.utf8))
        else { return .none }
        return recorded
    }

    /// What the index was built with; nil for an index never written (or a schema not yet made).
    static func recipe(_ connection: PostgresConnection) throws -> IndexRecipe? {
        guard try !PostgresSchema.applied(connection).isEmpty, let settings = try settings(connection) else { return nil }
        var openai: OpenAIRecipe?
        if settings.embedder.name == EmbedderKind.openai.rawValue, let json = try get(connection, IndexFile.Key.embedderOptions) {
            openai = try? JSONDecoder().decode(OpenAIRecipe.self, from: Data(json.utf8))
        }
        return IndexRecipe(settings: settings, openai: openai, roots: try roots(connection))
    }
}

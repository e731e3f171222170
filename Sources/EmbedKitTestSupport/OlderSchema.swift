/// SQL that takes an index back to what an older embed wrote, for the tests of upgrades.
public enum OlderSchema {
    /// Removes the keyword index (migration v3): its triggers, its table and the record of the migration; the
    /// record of migration v4, which changes no table; and the vector change log (v5). An older embed had none.
    public static let withoutKeywordIndex = """
        DROP TRIGGER vector_changes_after_insert; DROP TRIGGER vector_changes_after_delete;
        DROP TRIGGER vector_changes_after_update; DROP TABLE vector_changes;
        DELETE FROM schema_migrations WHERE identifier = 'v5-vector-changes';
        DROP TRIGGER chunks_fts_after_insert; DROP TRIGGER chunks_fts_after_delete;
        DROP TRIGGER chunks_fts_after_update; DROP TABLE chunks_fts;
        DELETE FROM schema_migrations WHERE identifier IN ('v3-chunks-fts', 'v4-chunks-without-vectors');
        """
}

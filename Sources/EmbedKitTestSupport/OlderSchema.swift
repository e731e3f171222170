/// SQL that takes an index back to what an older embed wrote, for the tests of upgrades.
public enum OlderSchema {
    /// Removes the keyword index (migration v3): its triggers, its table and the record of the migration; and the
    /// record of migration v4, which changes no table (an older embed had neither).
    public static let withoutKeywordIndex = """
        DROP TRIGGER chunks_fts_after_insert; DROP TRIGGER chunks_fts_after_delete;
        DROP TRIGGER chunks_fts_after_update; DROP TABLE chunks_fts;
        DELETE FROM schema_migrations WHERE identifier IN ('v3-chunks-fts', 'v4-chunks-without-vectors');
        """
}

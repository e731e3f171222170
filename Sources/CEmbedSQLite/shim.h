#ifndef CEMBED_SQLITE_SHIM_H
#define CEMBED_SQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import: tell SQLite to copy bound data.
static inline void CEmbedSQLite_bind_text_transient(sqlite3_stmt *s, int i, const char *t, int n) {
    sqlite3_bind_text(s, i, t, n, SQLITE_TRANSIENT);
}
static inline void CEmbedSQLite_bind_blob_transient(sqlite3_stmt *s, int i, const void *b, int n) {
    sqlite3_bind_blob(s, i, b, n, SQLITE_TRANSIENT);
}

// FTS5's API of connection `db`, fetched the documented way (`SELECT fts5(?1)` hands out the pointer); valid as
// long as the connection is open. NULL when FTS5 is missing.
static inline fts5_api *CEmbedSQLite_fts5_api(sqlite3 *db) {
    fts5_api *api = 0;
    sqlite3_stmt *statement = 0;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &statement, 0) != SQLITE_OK) return 0;
    sqlite3_bind_pointer(statement, 1, (void *)&api, "fts5_api_ptr", 0);
    sqlite3_step(statement);
    if (sqlite3_finalize(statement) != SQLITE_OK) return 0;
    return api != 0 && api->iVersion >= 2 ? api : 0;
}

// Splits `text` into tokens exactly as FTS5's tokenizer `name`, created with `arguments`, splits a MATCH
// query's words (`query` true) or a document, calling `token` for each. Returns an SQLite result code.
static inline int CEmbedSQLite_fts5_tokenize(
    fts5_api *api, const char *name, const char **arguments, int argumentCount, const char *text, int length,
    int query, void *context, int (*token)(void *, int, const char *, int, int, int)
) {
    void *userData = 0;
    fts5_tokenizer methods;
    int rc = api->xFindTokenizer(api, name, &userData, &methods);
    if (rc != SQLITE_OK) return rc;
    Fts5Tokenizer *tokenizer = 0;
    rc = methods.xCreate(userData, arguments, argumentCount, &tokenizer);
    if (rc != SQLITE_OK) return rc;
    rc = methods.xTokenize(
        tokenizer, context, query ? FTS5_TOKENIZE_QUERY : FTS5_TOKENIZE_DOCUMENT, text, length, token);
    methods.xDelete(tokenizer);
    return rc;
}
#endif

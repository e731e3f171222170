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

// Splits `text` into tokens exactly as the FTS5 tokenizer `name`, created with `arguments`, splits a MATCH
// query's words, calling `token` for each. Reached through the fts5_api pointer that `SELECT fts5(?1)` hands out,
// the documented way to get it. Returns an SQLite result code.
static inline int CEmbedSQLite_fts5_tokenize(
    sqlite3 *db, const char *name, const char **arguments, int argumentCount, const char *text, int length,
    void *context, int (*token)(void *, int, const char *, int, int, int)
) {
    fts5_api *api = 0;
    sqlite3_stmt *statement = 0;
    int rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &statement, 0);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_pointer(statement, 1, (void *)&api, "fts5_api_ptr", 0);
    sqlite3_step(statement);
    rc = sqlite3_finalize(statement);
    if (rc != SQLITE_OK) return rc;
    if (api == 0 || api->iVersion < 2) return SQLITE_ERROR;
    void *userData = 0;
    fts5_tokenizer methods;
    rc = api->xFindTokenizer(api, name, &userData, &methods);
    if (rc != SQLITE_OK) return rc;
    Fts5Tokenizer *tokenizer = 0;
    rc = methods.xCreate(userData, arguments, argumentCount, &tokenizer);
    if (rc != SQLITE_OK) return rc;
    rc = methods.xTokenize(tokenizer, context, FTS5_TOKENIZE_QUERY, text, length, token);
    methods.xDelete(tokenizer);
    return rc;
}
#endif

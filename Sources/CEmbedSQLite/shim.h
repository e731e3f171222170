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
#endif

#ifndef CEMBED_PQ_SHIM_H
#define CEMBED_PQ_SHIM_H
// libpq, PostgreSQL's C client (Debian: libpq-dev), for the PostgreSQL store.
#include <libpq-fe.h>
#endif

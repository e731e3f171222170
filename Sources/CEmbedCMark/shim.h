#ifndef CEMBED_CMARK_SHIM_H
#define CEMBED_CMARK_SHIM_H
#include <cmark-gfm.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm-core-extensions.h>
#include <string.h>

// Source positions give every block its line; footnote definitions keep their text (without the option
// `[^1]: text` would be a link reference definition and vanish).
static inline int CEmbedCMark_parseOptions(void) { return CMARK_OPT_SOURCEPOS | CMARK_OPT_FOOTNOTES; }

// The table extension's node types are global variables that Swift 6 refuses to read as shared mutable state;
// the type string is stable and only asked of the (rare) extension nodes.
typedef enum { CEmbedCMark_notTable = 0, CEmbedCMark_table, CEmbedCMark_tableRow, CEmbedCMark_tableCell } CEmbedCMark_tablePart;

static inline CEmbedCMark_tablePart CEmbedCMark_tablePartOf(cmark_node *node) {
    const char *type = cmark_node_get_type_string(node);
    if (type == NULL) return CEmbedCMark_notTable;
    if (strcmp(type, "table") == 0) return CEmbedCMark_table;
    // The header row is a row too, with its own type string.
    if (strcmp(type, "table_row") == 0 || strcmp(type, "table_header") == 0) return CEmbedCMark_tableRow;
    if (strcmp(type, "table_cell") == 0) return CEmbedCMark_tableCell;
    return CEmbedCMark_notTable;
}
#endif

#ifndef CEMBED_XML2_SHIM_H
#define CEMBED_XML2_SHIM_H
#include <libxml/xmlversion.h>
// Debian builds libxml2 with ICU; its headers then clash with the ICU that Foundation carries.
// Nothing here needs libxml2's ICU declarations.
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

// xmlFree is a global function-pointer variable, which Swift 6 refuses to touch as shared mutable state.
static inline void CEmbedXML2_free(void *p) { xmlFree(p); }
#endif

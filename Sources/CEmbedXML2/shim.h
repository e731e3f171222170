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

// A generic error handler is variadic; Swift can't write one, so the no-op handler lives here.
static inline void CEmbedXML2_ignoreGenericError(void *ctx, const char *msg, ...) {
    (void)ctx;
    (void)msg;
}

// An external entity loader that loads nothing: no file or network access, ever, whatever the options.
static inline xmlParserInputPtr CEmbedXML2_refuseExternalEntity(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

// Once per process, before any parse: initialises libxml2, refuses every external entity or DTD load,
// and silences libxml2's default printing of errors to stderr (for this thread and every thread created later).
static inline void CEmbedXML2_initialize(void) {
    xmlInitParser();
    xmlSetExternalEntityLoader(CEmbedXML2_refuseExternalEntity);
    xmlThrDefSetGenericErrorFunc(NULL, CEmbedXML2_ignoreGenericError);
    xmlThrDefSetStructuredErrorFunc(NULL, NULL);
    xmlSetGenericErrorFunc(NULL, CEmbedXML2_ignoreGenericError);
}

// libxml2's error handlers are per-thread: silence them on the calling thread (cheap; call before each parse).
static inline void CEmbedXML2_silenceErrorsOnThisThread(void) {
    xmlSetGenericErrorFunc(NULL, CEmbedXML2_ignoreGenericError);
    xmlSetStructuredErrorFunc(NULL, NULL);
}
#endif

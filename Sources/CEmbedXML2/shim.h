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
#include <libxml/xmlIO.h>

// xmlFree is a global function-pointer variable, which Swift 6 refuses to touch as shared mutable state.
static inline void CEmbedXML2_free(void *p) { xmlFree(p); }

// A generic error handler is variadic; Swift can't write one, so the no-op handler lives here.
static inline void CEmbedXML2_ignoreGenericError(void *ctx, const char *msg, ...) {
    (void)ctx;
    (void)msg;
}

// Parser contexts created by EmbedKit carry this mark in `_private` (never dereferenced).
#define CEMBED_XML2_CONTEXT_MARK ((void *)0x454D4244)

static inline void CEmbedXML2_markContext(xmlParserCtxtPtr ctxt) {
    if (ctxt != NULL) ctxt->_private = CEMBED_XML2_CONTEXT_MARK;
}

// The process-wide external entity loader: for EmbedKit's contexts (and context-less loads) it loads nothing,
// no file or network access whatever the options; other libxml2 users get the standard loader without network.
static inline xmlParserInputPtr CEmbedXML2_externalEntityLoader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
    if (ctxt == NULL || ctxt->_private == CEMBED_XML2_CONTEXT_MARK) return NULL;
    return xmlNoNetExternalEntityLoader(url, id, ctxt);
}

// Once per process, before any parse: initialises libxml2, installs the entity loader above,
// and silences libxml2's default printing of errors to stderr (for this thread and every thread created later).
static inline void CEmbedXML2_initialize(void) {
    xmlInitParser();
    xmlSetExternalEntityLoader(CEmbedXML2_externalEntityLoader);
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

/* What the doc layer's files share about an mn_docs handle. */
#ifndef MN_DOC_DOCS_INTERNAL_H
#define MN_DOC_DOCS_INTERNAL_H

#include "minions.h"

/* Set the handle's one-line error message (printf-style). */
void mn_doc_set_errmsg(mn_docs *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

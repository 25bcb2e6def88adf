/* Incremental parsers for streamed HTTP bodies: Server-Sent Events and
 * newline-delimited JSON.
 *
 * Bytes are fed in whatever pieces the network delivers; an event may be
 * split anywhere, even inside a CRLF pair. Each parser holds at most
 * `max_bytes` of pending text (a line, or an SSE event's joined data), so a
 * peer that never ends its line gets MN_ELIMIT instead of our memory.
 *
 * The transport uses these for MN_HTTP_STREAM_SSE / _NDJSON; they are
 * separate so they can be tested byte by byte without a server.
 */
#ifndef MN_NET_STREAM_H
#define MN_NET_STREAM_H

#include <stddef.h>

#include "net/http.h"
#include "util/buf.h"

/* Server-Sent Events, parsed as the WHATWG HTML "event stream
 * interpretation" says: lines end in CRLF, LF or CR; a leading BOM is
 * dropped; lines starting with ':' are comments; "field: value" with one
 * optional space after the colon; `data` lines are joined with "\n"; a
 * blank line dispatches the event (nothing is dispatched when no data line
 * was seen); `event` names it. `id` and `retry` only matter to reconnecting
 * browsers and are ignored, as are unknown fields. At the end of the stream
 * an event not closed by a blank line is discarded, as the spec says. */
typedef struct mn_sse {
  mn_buf line;          /* a line split across feeds */
  mn_buf data;          /* data lines of the current event, "\n"-joined */
  mn_buf event;         /* event name of the current event */
  int has_data;         /* a data line was seen (data may still be empty) */
  int after_cr;         /* last byte fed was CR: a leading LF is its pair */
  int bom_checked;      /* the first bytes were checked for a BOM */
  mn_http_event_cb cb;
  void *userdata;
} mn_sse;

void mn_sse_init(mn_sse *p, size_t max_bytes, mn_http_event_cb cb, void *userdata);
/* Parse n more bytes, calling the callback once per complete event.
 * Returns 0; MN_ELIMIT when pending text passes max_bytes; or, when the
 * callback returns non-zero, that value if it is a negative MN_E* code and
 * MN_EPARSE otherwise. After an error the parser must be reset. */
int mn_sse_feed(mn_sse *p, const char *bytes, size_t n);
/* Forget everything pending (a new attempt starts); keeps memory. */
void mn_sse_reset(mn_sse *p);
void mn_sse_free(mn_sse *p);

/* NDJSON: one event per line; lines end in LF (a CR before it is dropped);
 * empty and all-blank lines are skipped. The callback gets event = NULL. */
typedef struct mn_ndjson {
  mn_buf line;
  mn_http_event_cb cb;
  void *userdata;
} mn_ndjson;

void mn_ndjson_init(mn_ndjson *p, size_t max_bytes, mn_http_event_cb cb, void *userdata);
/* Same returns as mn_sse_feed(). */
int mn_ndjson_feed(mn_ndjson *p, const char *bytes, size_t n);
/* The stream ended: hand over a last line that had no newline. */
int mn_ndjson_finish(mn_ndjson *p);
void mn_ndjson_reset(mn_ndjson *p);
void mn_ndjson_free(mn_ndjson *p);

#endif

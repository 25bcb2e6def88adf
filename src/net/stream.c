#include "net/stream.h"

#include <string.h>

#include "minions.h"

/* A callback's non-zero return becomes the parser's error code. */
static int callback_code(int rc)
{
  return rc < 0 ? rc : MN_EPARSE;
}

/* ---- SSE ------------------------------------------------------------- */

void mn_sse_init(mn_sse *p, size_t max_bytes, mn_http_event_cb cb, void *userdata)
{
  memset(p, 0, sizeof *p);
  mn_buf_init(&p->line, max_bytes);
  mn_buf_init(&p->data, max_bytes);
  mn_buf_init(&p->event, max_bytes);
  p->cb = cb;
  p->userdata = userdata;
}

void mn_sse_reset(mn_sse *p)
{
  mn_buf_reset(&p->line);
  mn_buf_reset(&p->data);
  mn_buf_reset(&p->event);
  p->has_data = 0;
  p->after_cr = 0;
  p->bom_checked = 0;
}

void mn_sse_free(mn_sse *p)
{
  mn_buf_free(&p->line);
  mn_buf_free(&p->data);
  mn_buf_free(&p->event);
}

static int sse_dispatch(mn_sse *p)
{
  int rc = 0;
  if(p->has_data)
    rc = p->cb(p->userdata, p->event.len ? p->event.data : NULL,
               mn_buf_str(&p->data), p->data.len);
  mn_buf_reset(&p->data);
  mn_buf_reset(&p->event);
  p->has_data = 0;
  return rc ? callback_code(rc) : 0;
}

static int sse_line(mn_sse *p, const char *s, size_t len)
{
  if(len == 0)
    return sse_dispatch(p);
  if(s[0] == ':')
    return 0;
  const char *colon = memchr(s, ':', len);
  size_t flen = colon ? (size_t)(colon - s) : len;
  const char *val = colon ? colon + 1 : s + len;
  size_t vlen = (size_t)(s + len - val);
  if(vlen && val[0] == ' ') {
    val++;
    vlen--;
  }
  if(flen == 4 && memcmp(s, "data", 4) == 0) {
    if(p->has_data && mn_buf_putc(&p->data, '\n') != 0)
      return MN_ELIMIT;
    p->has_data = 1;
    return mn_buf_append(&p->data, val, vlen) ? MN_ELIMIT : 0;
  }
  if(flen == 5 && memcmp(s, "event", 5) == 0) {
    mn_buf_reset(&p->event);
    return mn_buf_append(&p->event, val, vlen) ? MN_ELIMIT : 0;
  }
  return 0;
}

static const unsigned char utf8_bom[3] = { 0xEF, 0xBB, 0xBF };

int mn_sse_feed(mn_sse *p, const char *bytes, size_t n)
{
  size_t i = 0;
  if(!p->bom_checked) {
    /* The BOM may itself arrive split; its prefix waits in `line` (no other
     * line can be pending before the first one ends). */
    while(i < n && p->line.len < 3 &&
          (unsigned char)bytes[i] == utf8_bom[p->line.len]) {
      mn_buf_putc(&p->line, bytes[i]);
      i++;
    }
    if(p->line.len == 3) {
      mn_buf_reset(&p->line);
      p->bom_checked = 1;
    } else if(i < n) {
      p->bom_checked = 1;   /* not a BOM: what was held is ordinary text */
    } else {
      return 0;
    }
  }
  if(i < n && p->after_cr) {
    if(bytes[i] == '\n')
      i++;
    p->after_cr = 0;
  }
  while(i < n) {
    size_t j = i;
    while(j < n && bytes[j] != '\n' && bytes[j] != '\r')
      j++;
    if(j == n) {
      if(mn_buf_append(&p->line, bytes + i, n - i) != 0)
        return MN_ELIMIT;
      break;
    }
    int rc;
    if(p->line.len) {
      if(mn_buf_append(&p->line, bytes + i, j - i) != 0)
        return MN_ELIMIT;
      rc = sse_line(p, p->line.data, p->line.len);
      mn_buf_reset(&p->line);
    } else {
      rc = sse_line(p, bytes + i, j - i);
    }
    if(rc)
      return rc;
    if(bytes[j] == '\r') {
      if(j + 1 < n) {
        if(bytes[j + 1] == '\n')
          j++;
      } else {
        p->after_cr = 1;
      }
    }
    i = j + 1;
  }
  return 0;
}

/* ---- NDJSON ------------------------------------------------------------ */

void mn_ndjson_init(mn_ndjson *p, size_t max_bytes, mn_http_event_cb cb, void *userdata)
{
  mn_buf_init(&p->line, max_bytes);
  p->cb = cb;
  p->userdata = userdata;
}

void mn_ndjson_reset(mn_ndjson *p)
{
  mn_buf_reset(&p->line);
}

void mn_ndjson_free(mn_ndjson *p)
{
  mn_buf_free(&p->line);
}

/* Hand over the line held in p->line (if it is not blank) and clear it. */
static int ndjson_emit(mn_ndjson *p)
{
  size_t len = p->line.len;
  if(len && p->line.data[len - 1] == '\r')
    p->line.data[--len] = '\0';
  int blank = 1;
  for(size_t k = 0; k < len && blank; k++) {
    char c = p->line.data[k];
    blank = (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v');
  }
  int rc = blank ? 0 : p->cb(p->userdata, NULL, p->line.data, len);
  mn_buf_reset(&p->line);
  return rc ? callback_code(rc) : 0;
}

int mn_ndjson_feed(mn_ndjson *p, const char *bytes, size_t n)
{
  size_t i = 0;
  while(i < n) {
    const char *nl = memchr(bytes + i, '\n', n - i);
    size_t j = nl ? (size_t)(nl - bytes) : n;
    /* The line is copied even when whole so the callback gets a
     * NUL-terminated string. */
    if(mn_buf_append(&p->line, bytes + i, j - i) != 0)
      return MN_ELIMIT;
    if(!nl)
      break;
    int rc = ndjson_emit(p);
    if(rc)
      return rc;
    i = j + 1;
  }
  return 0;
}

int mn_ndjson_finish(mn_ndjson *p)
{
  return p->line.len ? ndjson_emit(p) : 0;
}

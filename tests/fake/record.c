/* Records of the requests received: in memory (GET /_fake/requests) and
 * appended to the --record file, one JSON line per request. API keys are
 * replaced by "[redacted]" so they never reach a log. */
#include "fakellm.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int secret_header(const char *name)
{
  return strcmp(name, "authorization") == 0 || strcmp(name, "x-api-key") == 0 ||
         strcmp(name, "api-key") == 0 ||
         strcmp(name, "x-goog-api-key") == 0 ||
         strcmp(name, "proxy-authorization") == 0;
}

static json_t *str_clean(const char *s, size_t n)
{
  char *c = mn_fk_utf8_clean(s, n);
  json_t *j = json_string(c);
  free(c);
  return j;
}

/* The query with the value of key= hidden. */
static json_t *query_clean(const char *q)
{
  mn_fk_buf b = { 0 };
  const char *p = q;
  while(*p) {
    const char *e = strchr(p, '&');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if(b.len)
      mn_fk_buf_add(&b, "&", 1);
    if(n >= 4 && strncmp(p, "key=", 4) == 0)
      mn_fk_buf_puts(&b, "key=[redacted]");
    else
      mn_fk_buf_add(&b, p, n);
    p += n;
    if(*p == '&')
      p++;
  }
  json_t *j = str_clean(b.data ? b.data : "", b.len);
  mn_fk_buf_free(&b);
  return j;
}

static json_t *headers_json(const mn_fk_req *req)
{
  json_t *h = json_object();
  for(size_t i = 0; i < req->n_headers; i++) {
    const mn_fk_header *x = &req->headers[i];
    char *name = mn_fk_utf8_clean(x->name, strlen(x->name));
    json_t *v;
    if(secret_header(x->name)) {
      /* keep the scheme so "Bearer" vs. nothing stays visible */
      const char *sp = strchr(x->value, ' ');
      if(strncasecmp(x->value, "Bearer ", 7) == 0 && sp)
        v = json_string("Bearer [redacted]");
      else
        v = json_string("[redacted]");
    }
    else
      v = str_clean(x->value, strlen(x->value));
    json_t *old = json_object_get(h, name);
    if(old && json_is_string(old) && json_is_string(v)) {
      /* repeated header: one comma-separated value, as HTTP allows */
      size_t n = json_string_length(old) + json_string_length(v) + 3;
      char *joined = mn_fk_xmalloc(n);
      snprintf(joined, n, "%s, %s", json_string_value(old), json_string_value(v));
      json_decref(v);
      v = json_string(joined);
      free(joined);
    }
    json_object_set_new(h, name, v);
    free(name);
  }
  return h;
}

static void ring_drop_oldest(mn_fk_server *s)
{
  json_t *old = s->ring[s->ring_head];
  s->ring_body_bytes -= (size_t)json_integer_value(json_object_get(old, "body_bytes_kept"));
  json_decref(old);
  s->ring[s->ring_head] = NULL;
  s->ring_head = (s->ring_head + 1) % MN_FK_RECORDS;
  s->ring_n--;
}

void mn_fk_record_start(mn_fk_server *s, mn_fk_plan *plan, const mn_fk_req *req,
                        const char *route, const json_t *body)
{
  json_t *parsed = NULL;
  if(!body && req->body_len)
    body = parsed = json_loadb(req->body, req->body_len, 0, NULL);
  json_t *rec = json_object();
  json_object_set_new(rec, "seq", json_integer((json_int_t)++s->seq));
  json_object_set_new(rec, "method", json_string(req->method));
  json_object_set_new(rec, "path", str_clean(req->path, strlen(req->path)));
  json_object_set_new(rec, "query", query_clean(req->query));
  json_object_set_new(rec, "headers", headers_json(req));

  json_t *full;
  if(body)
    full = json_incref((json_t *)body);
  else if(req->body_len)
    full = str_clean(req->body, req->body_len);
  else
    full = json_null();
  size_t kept = req->body_len;
  if(req->body_len > MN_FK_RECORD_BODY) {
    /* in memory, a big body is kept as its first MiB of text */
    kept = mn_fk_utf8_cut(req->body, req->body_len, MN_FK_RECORD_BODY);
    json_object_set_new(rec, "body", str_clean(req->body, kept));
    json_object_set_new(rec, "body_truncated", json_true());
    plan->record_full = full;
  }
  else
    json_object_set_new(rec, "body", full);
  json_object_set_new(rec, "body_bytes", json_integer((json_int_t)req->body_len));
  json_object_set_new(rec, "route", json_string(route));
  json_object_set_new(rec, "t_recv", json_real(req->t_recv));
  json_object_set_new(rec, "t_reply", json_null());
  json_object_set_new(rec, "status", json_null());
  json_decref(parsed);

  /* in memory, within count and byte caps */
  if(!s->ring)
    s->ring = mn_fk_xcalloc(MN_FK_RECORDS, sizeof *s->ring);
  json_object_set_new(rec, "body_bytes_kept", json_integer((json_int_t)kept));
  while(s->ring_n && (s->ring_n == MN_FK_RECORDS ||
                      s->ring_body_bytes + kept > MN_FK_RECORD_TOTAL))
    ring_drop_oldest(s);
  s->ring[(s->ring_head + s->ring_n) % MN_FK_RECORDS] = json_incref(rec);
  s->ring_n++;
  s->ring_body_bytes += kept;
  plan->record = rec;
}

void mn_fk_record_finish(mn_fk_server *s, mn_fk_plan *plan, double t_reply)
{
  json_t *rec = plan->record;
  if(!rec)
    return;
  if(plan->status > 0)
    json_object_set_new(rec, "status", json_integer(plan->status));
  if(t_reply >= 0)
    json_object_set_new(rec, "t_reply", json_real(t_reply));
  if(!s->rec)
    return;
  json_t *line = json_copy(rec);   /* shallow: shares the values */
  json_object_del(line, "body_bytes_kept");
  if(plan->record_full) {
    json_object_set(line, "body", plan->record_full);
    json_object_del(line, "body_truncated");
  }
  if(json_dumpf(line, s->rec, JSON_COMPACT | JSON_REAL_PRECISION(15)) == 0)
    fputc('\n', s->rec);
  json_decref(line);
  s->rec_dirty = 1;
}

json_t *mn_fk_record_list(mn_fk_server *s, size_t last)
{
  json_t *arr = json_array();
  size_t n = s->ring_n < last ? s->ring_n : last;
  for(size_t i = s->ring_n - n; i < s->ring_n; i++) {
    json_t *r = json_copy(s->ring[(s->ring_head + i) % MN_FK_RECORDS]);
    json_object_del(r, "body_bytes_kept");
    json_array_append_new(arr, r);
  }
  return arr;
}

void mn_fk_record_clear(mn_fk_server *s)
{
  while(s->ring_n)
    ring_drop_oldest(s);
  s->ring_head = 0;
  s->ring_body_bytes = 0;
}

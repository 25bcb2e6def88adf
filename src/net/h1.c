/* HTTP/1.1 request heads and response parsing for the direct path (h1.h). */
#include "net/h1.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "minions.h"
#include "util/mem.h"

/* ---- URLs ------------------------------------------------------------------ */

static int literal_address(const char *host, const char *port,
                           struct sockaddr_storage *ss, socklen_t *len)
{
  char *end = NULL;
  long pn = strtol(port, &end, 10);
  const char *name = strcasecmp(host, "localhost") == 0 ? "127.0.0.1" : host;
  size_t n = strlen(name);
  char v6[64];
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  memset(ss, 0, sizeof *ss);
  if(*end != '\0' || pn <= 0 || pn >= 65536)
    return 0;
  if(inet_pton(AF_INET, name, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)pn);
    *len = sizeof *a4;
    return 1;
  }
  if(n > 2 && n - 2 < sizeof v6 && name[0] == '[' && name[n - 1] == ']') {
    memcpy(v6, name + 1, n - 2);
    v6[n - 2] = '\0';
    if(inet_pton(AF_INET6, v6, &a6->sin6_addr) != 1)
      return 0;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)pn);
    *len = sizeof *a6;
    return 1;
  }
  return 0;
}

/* Parse url with curl's own URL parser, so both paths read a URL the same
 * way. u may be NULL (only the address is wanted). */
static int parse(const char *url, struct sockaddr_storage *ss, socklen_t *len, mn_h1_url *u)
{
  CURLU *cu = curl_url();
  char *host = NULL, *port = NULL, *given_port = NULL, *user = NULL, *path = NULL, *query = NULL;
  int ok = cu && curl_url_set(cu, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(cu, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
           curl_url_get(cu, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
           literal_address(host, port, ss, len);
  if(ok && u) {
    ok = strncasecmp(url, "http://", 7) == 0 &&
         curl_url_get(cu, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
         curl_url_get(cu, CURLUPART_PATH, &path, 0) == CURLUE_OK;
    if(ok) {
      int has_port = curl_url_get(cu, CURLUPART_PORT, &given_port, 0) == CURLUE_OK;
      int written = has_port ? snprintf(u->host, sizeof u->host, "%s:%s", host, given_port)
                             : snprintf(u->host, sizeof u->host, "%s", host);
      ok = written > 0 && (size_t)written < sizeof u->host;
    }
    if(ok && strcasecmp(host, "localhost") == 0)
      literal_address("[::1]", port, &u->alt, &u->alt_len);
    if(ok) {
      int has_query = curl_url_get(cu, CURLUPART_QUERY, &query, 0) == CURLUE_OK;
      u->target = mn_xasprintf("%s%s%s", path[0] ? path : "/", has_query ? "?" : "",
                               has_query ? query : "");
    }
  }
  curl_free(host);
  curl_free(port);
  curl_free(given_port);
  curl_free(user);
  curl_free(path);
  curl_free(query);
  curl_url_cleanup(cu);
  return ok;
}

int mn_h1_address(const char *url, struct sockaddr_storage *ss, socklen_t *len)
{
  return url && parse(url, ss, len, NULL);
}

int mn_h1_url_parse(const char *url, mn_h1_url *u)
{
  memset(u, 0, sizeof *u);
  return url && parse(url, &u->addr, &u->addr_len, u);
}

/* ---- the request head ------------------------------------------------------- */

static int header_named(const char *h, const char *name)
{
  size_t n = strlen(name);
  return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

void mn_h1_request_head(mn_buf *out, const char *method, const mn_h1_url *u,
                        const char *const *headers, int has_body, size_t body_len)
{
  int own_host = 0, own_length = 0;
  mn_buf_printf(out, "%s %s HTTP/1.1\r\n", method, u->target);
  for(size_t i = 0; headers && headers[i]; i++) {
    const char *h = headers[i];
    const char *v = strchr(h, ':');
    if(!v || !v[1 + strspn(v + 1, " \t")])
      continue;   /* "Name:" only asks curl to leave a header out */
    own_host |= header_named(h, "Host");
    own_length |= header_named(h, "Content-Length");
    mn_buf_puts(out, h);
    mn_buf_puts(out, "\r\n");
  }
  if(!own_host)
    mn_buf_printf(out, "Host: %s\r\n", u->host);
  if(has_body && !own_length)
    mn_buf_printf(out, "Content-Length: %zu\r\n", body_len);
  mn_buf_puts(out, "\r\n");
}

/* ---- the response parser ---------------------------------------------------- */

void mn_h1_init(mn_h1_parser *p, mn_h1_head_cb on_head, mn_h1_body_cb on_body,
                void *userdata)
{
  memset(p, 0, sizeof *p);
  mn_buf_init(&p->head, MN_H1_HEAD_MAX);
  p->on_head = on_head;
  p->on_body = on_body;
  p->userdata = userdata;
}

static void forget_headers(mn_h1_parser *p)
{
  p->status = 0;
  p->keep_alive = 0;
  p->has_length = 0;
  p->length = 0;
  p->content_type[0] = '\0';
  p->retry_after[0] = '\0';
}

void mn_h1_reset(mn_h1_parser *p, int head_only)
{
  p->state = MN_H1_HEAD;
  p->head_only = head_only;
  mn_buf_reset(&p->head);
  p->left = 0;
  p->got_bytes = 0;
  forget_headers(p);
}

void mn_h1_free(mn_h1_parser *p)
{
  mn_buf_free(&p->head);
}

static int is_tchar(unsigned char c)
{
  return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Does the comma-separated list v (len n) hold token tok? Sets *last to
 * whether it is the last element. */
static int list_has(const char *v, size_t n, const char *tok, int *last)
{
  size_t tl = strlen(tok);
  int found = 0;
  *last = 0;
  for(size_t i = 0; i < n;) {
    while(i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    size_t s = i;
    while(i < n && v[i] != ',')
      i++;
    size_t e = i;
    while(e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
      e--;
    if(e == s)
      continue;
    int match = e - s == tl && strncasecmp(v + s, tok, tl) == 0;
    found |= match;
    *last = match;
  }
  return found;
}

static void copy_value(char *dst, size_t size, const char *v, size_t n)
{
  if(n >= size)
    n = size - 1;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

/* Parse the header block in p->head (terminator included). */
static int parse_head(mn_h1_parser *p)
{
  const char *s = p->head.data, *end = s + p->head.len;
  const char *eol = memchr(s, '\n', (size_t)(end - s));
  size_t l = (size_t)(eol - s);
  if(l && s[l - 1] == '\r')
    l--;
  /* HTTP/1.x SP 3DIGIT [SP reason] */
  if(l < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
     !isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
     !isdigit((unsigned char)s[11]) || (l > 12 && s[12] != ' ') || s[9] == '0')
    return MN_EPARSE;
  forget_headers(p);
  int http10 = s[7] == '0';
  int conn_close = 0, conn_keep = 0, chunked = 0, has_te = 0;
  p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  for(s = eol + 1; s < end; s = eol + 1) {
    eol = memchr(s, '\n', (size_t)(end - s));
    l = (size_t)(eol - s);
    if(l && s[l - 1] == '\r')
      l--;
    if(l == 0)
      break;   /* the blank line */
    if(s[0] == ' ' || s[0] == '\t')
      continue;   /* obsolete line folding: a header we do not read */
    size_t nl = 0;
    while(nl < l && is_tchar((unsigned char)s[nl]))
      nl++;
    if(nl == 0 || nl == l || s[nl] != ':')
      return MN_EPARSE;
    const char *v = s + nl + 1;
    size_t vn = l - nl - 1;
    while(vn && (*v == ' ' || *v == '\t'))
      v++, vn--;
    while(vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
      vn--;
    int last;
    if(nl == 14 && strncasecmp(s, "content-length", 14) == 0) {
      unsigned long long x = 0;
      if(vn == 0)
        return MN_EPARSE;
      for(size_t i = 0; i < vn; i++) {
        if(!isdigit((unsigned char)v[i]) || x > (UINT64_MAX - 9) / 10)
          return MN_EPARSE;
        x = x * 10 + (unsigned)(v[i] - '0');
      }
      if(p->has_length && p->length != x)
        return MN_EPARSE;   /* two different lengths: which body is it? */
      p->has_length = 1;
      p->length = x;
    } else if(nl == 17 && strncasecmp(s, "transfer-encoding", 17) == 0) {
      has_te = 1;
      list_has(v, vn, "chunked", &last);
      chunked = last;
    } else if(nl == 10 && strncasecmp(s, "connection", 10) == 0) {
      conn_close |= list_has(v, vn, "close", &last);
      conn_keep |= list_has(v, vn, "keep-alive", &last);
    } else if(nl == 12 && strncasecmp(s, "content-type", 12) == 0) {
      copy_value(p->content_type, sizeof p->content_type, v, vn);
    } else if(nl == 11 && strncasecmp(s, "retry-after", 11) == 0) {
      copy_value(p->retry_after, sizeof p->retry_after, v, vn);
    }
  }
  p->keep_alive = !conn_close && (!http10 || conn_keep);
  if(p->status < 200)
    return p->status == 101 ? MN_EPARSE : 0;   /* we never ask to switch protocols */
  if(p->head_only || p->status == 204 || p->status == 304) {
    p->state = MN_H1_DONE;
  } else if(has_te) {
    /* Transfer-Encoding overrides Content-Length (RFC 9112 6.3); a body
     * whose last coding is not chunked runs to the connection's end */
    p->has_length = 0;
    p->keep_alive &= chunked;
    p->state = chunked ? MN_H1_CHUNK_SIZE : MN_H1_BODY_EOF;
  } else if(p->has_length) {
    p->left = p->length;
    p->state = p->left ? MN_H1_BODY_LENGTH : MN_H1_DONE;
  } else {
    p->keep_alive = 0;
    p->state = MN_H1_BODY_EOF;
  }
  return p->on_head ? p->on_head(p->userdata) : 0;
}

/* Collect a header block from data; *took = bytes used. 1: complete. */
static int take_head(mn_h1_parser *p, const char *data, size_t n, size_t *took)
{
  size_t old = p->head.len;
  size_t room = MN_H1_HEAD_MAX - old;
  size_t add = n < room ? n : room;
  mn_buf_append(&p->head, data, add);
  const char *b = p->head.data;
  /* the block ends at the first empty line: LF (CR)LF */
  for(size_t i = old > 2 ? old - 2 : 0; i < p->head.len; i++) {
    if(b[i] != '\n')
      continue;
    size_t j = i + 1;
    if(j < p->head.len && b[j] == '\r')
      j++;
    if(j < p->head.len && b[j] == '\n') {
      *took = j + 1 - old;
      p->head.len = j + 1;
      p->head.data[p->head.len] = '\0';
      return 1;
    }
  }
  *took = add;
  return p->head.len >= MN_H1_HEAD_MAX ? MN_ELIMIT : 0;
}

/* Collect one line (chunk size, chunk end, trailer) into p->head, LF
 * dropped, CR kept; `cap` bounds it. 1: complete. */
static int take_line(mn_h1_parser *p, const char *data, size_t n, size_t *took, size_t cap)
{
  const char *lf = memchr(data, '\n', n);
  size_t add = lf ? (size_t)(lf - data) : n;
  if(p->head.len + add > cap)
    return MN_ELIMIT;
  mn_buf_append(&p->head, data, add);
  *took = add + (lf != NULL);
  return lf != NULL;
}

static size_t line_len(const mn_h1_parser *p)
{
  size_t l = p->head.len;
  return l && p->head.data[l - 1] == '\r' ? l - 1 : l;
}

static int chunk_size(mn_h1_parser *p)
{
  const char *s = p->head.data;
  size_t l = line_len(p), i = 0;
  unsigned long long x = 0;
  for(; i < l && isxdigit((unsigned char)s[i]); i++) {
    if(x >> 59)
      return MN_EPARSE;
    int c = tolower((unsigned char)s[i]);
    x = x * 16 + (unsigned)(isdigit(c) ? c - '0' : c - 'a' + 10);
  }
  while(i < l && (s[i] == ' ' || s[i] == '\t'))
    i++;
  if(i == 0 || (i < l && s[i] != ';'))
    return MN_EPARSE;
  p->left = x;
  p->state = x ? MN_H1_CHUNK_DATA : MN_H1_TRAILERS;
  return 0;
}

static int body(mn_h1_parser *p, const char *data, size_t n)
{
  return n && p->on_body ? p->on_body(p->userdata, data, n) : 0;
}

int mn_h1_feed(mn_h1_parser *p, const char *data, size_t n, size_t *used)
{
  size_t i = 0;
  int rc = 0;
  if(n)
    p->got_bytes = 1;
  while(i < n && p->state != MN_H1_DONE && rc == 0) {
    size_t took = 0, k;
    switch(p->state) {
    case MN_H1_HEAD:
      rc = take_head(p, data + i, n - i, &took);
      i += took;
      if(rc == 1) {
        rc = parse_head(p);
        mn_buf_reset(&p->head);
      }
      break;
    case MN_H1_BODY_LENGTH:
    case MN_H1_CHUNK_DATA:
      k = n - i < p->left ? n - i : (size_t)p->left;
      rc = body(p, data + i, k);
      i += k;
      p->left -= k;
      if(!p->left)
        p->state = p->state == MN_H1_CHUNK_DATA ? MN_H1_CHUNK_END : MN_H1_DONE;
      break;
    case MN_H1_BODY_EOF:
      rc = body(p, data + i, n - i);
      i = n;
      break;
    case MN_H1_CHUNK_SIZE:
    case MN_H1_CHUNK_END:
      rc = take_line(p, data + i, n - i, &took, MN_H1_LINE_MAX);
      i += took;
      if(rc != 1)
        break;   /* need more, or too long */
      if(p->state == MN_H1_CHUNK_SIZE) {
        rc = chunk_size(p);
      } else {   /* nothing may stand between a chunk and its CRLF */
        rc = line_len(p) ? MN_EPARSE : 0;
        p->state = MN_H1_CHUNK_SIZE;
      }
      mn_buf_reset(&p->head);
      break;
    case MN_H1_TRAILERS:
      /* trailer lines are skipped; `left` counts their bytes */
      rc = take_line(p, data + i, n - i, &took, MN_H1_LINE_MAX * 8);
      i += took;
      p->left += took;
      if(p->left > MN_H1_HEAD_MAX)
        rc = MN_ELIMIT;
      else if(rc == 1) {
        if(!line_len(p))
          p->state = MN_H1_DONE;
        mn_buf_reset(&p->head);
        rc = 0;
      }
      break;
    case MN_H1_DONE:
      break;
    }
  }
  *used = i;
  return rc < 0 ? rc : 0;
}

int mn_h1_eof(mn_h1_parser *p)
{
  if(p->state == MN_H1_BODY_EOF)
    p->state = MN_H1_DONE;
  return p->state == MN_H1_DONE ? 0 : MN_ENET;
}

/* minions serve: the daemon, routing, and the checks every request passes
 * (token, Origin, body cap); see server.h. libmicrohttpd runs one thread
 * per connection, so a handler may block on its run. */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/server_internal.h"

#define DEFAULT_BODY_MAX ((size_t)32 << 20)
#define DEFAULT_MAX_RUNS 4
#define MAX_CONNECTIONS 256

static const char *const PROTOCOLS[] = { "minions", "minion", "remote-only", "local-only" };

struct MHD_Response *mn_srv_json(json_t *body)
{
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  if(!text)
    text = strdup("{}");
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
                                                           MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(r, "Content-Type", "application/json");
  return r;
}

struct MHD_Response *mn_srv_error(const char *type, const char *code, const char *fmt, ...)
{
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for(char *p = msg; *p; p++)
    if(*p == '\n' || *p == '\r')
      *p = ' ';
  json_t *e = json_pack("{s:s,s:s,s:n}", "message", msg, "type", type, "param");
  json_object_set_new(e, "code", code ? json_string(code) : json_null());
  return mn_srv_json(json_pack("{s:o}", "error", e));
}

int mn_srv_run_acquire(srv *s)
{
  pthread_mutex_lock(&s->mu);
  int ok = s->runs < s->o.max_runs;
  s->runs += ok;
  pthread_mutex_unlock(&s->mu);
  return ok;
}

void mn_srv_run_release(srv *s)
{
  pthread_mutex_lock(&s->mu);
  s->runs--;
  pthread_mutex_unlock(&s->mu);
}

/* Equal strings, in time that depends on the lengths only. */
static int same_secret(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  unsigned char d = (unsigned char)(la != lb);
  for(size_t i = 0; i < la; i++)
    d |= (unsigned char)(a[i] ^ b[lb ? i % lb : 0]);
  return d == 0;
}

static struct MHD_Response *models(void)
{
  json_t *data = json_array();
  time_t now = time(NULL);
  for(size_t i = 0; i < sizeof PROTOCOLS / sizeof PROTOCOLS[0]; i++)
    json_array_append_new(data, json_pack("{s:s,s:s,s:I,s:s}", "id", PROTOCOLS[i], "object",
                                          "model", "created", (json_int_t)now, "owned_by",
                                          "minions"));
  return mn_srv_json(json_pack("{s:s,s:o}", "object", "list", "data", data));
}

typedef struct conn {
  char *body;
  size_t len, cap;
  int too_big;
} conn;

static enum MHD_Result reply(struct MHD_Connection *c, int status, struct MHD_Response *r)
{
  enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
  (void)version;
  srv *s = cls;
  conn *k = *con_cls;
  if(!k) {                       /* first call: headers only */
    k = calloc(1, sizeof *k);
    if(!k)
      return MHD_NO;
    *con_cls = k;
    return MHD_YES;
  }
  if(*data_size) {               /* body, in pieces, capped */
    if(!k->too_big) {
      if(k->len + *data_size > s->o.max_body_bytes) {
        k->too_big = 1;
      } else {
        if(k->len + *data_size + 1 > k->cap) {
          size_t cap = (k->len + *data_size + 1) * 2;
          char *b = realloc(k->body, cap);
          if(!b)
            return MHD_NO;
          k->body = b;
          k->cap = cap;
        }
        memcpy(k->body + k->len, data, *data_size);
        k->len += *data_size;
        k->body[k->len] = '\0';
      }
    }
    *data_size = 0;
    return MHD_YES;
  }

  if(s->o.token) {
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *given = auth && !strncmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
    if(!given || !same_secret(given, s->o.token))
      return reply(c, 401, mn_srv_error("invalid_request_error", "invalid_api_key",
                                        "a bearer token is required (Authorization: Bearer "
                                        "TOKEN, the server's --token)"));
  }
  int post = !strcmp(method, "POST");
  const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
  if(post && origin && strcmp(origin, s->origin) != 0)
    return reply(c, 403, mn_srv_error("invalid_request_error", "origin_not_allowed",
                                      "requests from another origin are refused"));
  if(k->too_big)
    return reply(c, 413, mn_srv_error("invalid_request_error", "request_too_large",
                                      "the request body is larger than %zu bytes",
                                      s->o.max_body_bytes));
  if(!strcmp(url, "/v1/models")) {
    if(strcmp(method, "GET"))
      return reply(c, 405, mn_srv_error("invalid_request_error", "method_not_allowed",
                                        "use GET for /v1/models"));
    return reply(c, 200, models());
  }
  if(!strcmp(url, "/v1/chat/completions") || !strcmp(url, "/chat/completions")) {
    if(!post)
      return reply(c, 405, mn_srv_error("invalid_request_error", "method_not_allowed",
                                        "use POST for /v1/chat/completions"));
    int status = 500;
    struct MHD_Response *r = mn_srv_completions(s, k->body ? k->body : "", k->len, &status);
    return reply(c, status, r);
  }
  return reply(c, 404, mn_srv_error("invalid_request_error", "unknown_url",
                                    "unknown URL: %.100s %.200s", method, url));
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
  (void)cls;
  (void)c;
  (void)toe;
  conn *k = *con_cls;
  if(k) {
    free(k->body);
    free(k);
  }
  *con_cls = NULL;
}

static char *strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strdupf(const char *fmt, ...)
{
  char buf[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return strdup(buf);
}

static int loopback(const char *host)
{
  return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

int mn_server_run(const mn_server_opts *o, char **errmsg)
{
  srv s;
  memset(&s, 0, sizeof s);
  s.o = *o;
  if(!s.o.host)
    s.o.host = "127.0.0.1";
  if(!s.o.max_body_bytes)
    s.o.max_body_bytes = DEFAULT_BODY_MAX;
  if(s.o.max_runs <= 0)
    s.o.max_runs = DEFAULT_MAX_RUNS;
  if(!loopback(s.o.host) && (!s.o.token || !*s.o.token)) {
    *errmsg = strdup("serving on a non-loopback address needs --token (clients then send "
                     "Authorization: Bearer TOKEN)");
    return MN_EINVAL;
  }
  s.run = *o->run;
  pthread_mutex_init(&s.mu, NULL);

  /* MHD takes a socket address: the host must be an IP address */
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                   MHD_USE_ERROR_LOG;
  if(!strcmp(s.o.host, "localhost"))
    s.o.host = "127.0.0.1";
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if(inet_pton(AF_INET, s.o.host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)s.o.port);
  } else if(inet_pton(AF_INET6, s.o.host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)s.o.port);
    flags |= MHD_USE_IPv6;
  } else {
    *errmsg = strdupf("--host %s: give an IP address (127.0.0.1, ::1, 0.0.0.0)", s.o.host);
    pthread_mutex_destroy(&s.mu);
    return MN_EINVAL;
  }
  struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)s.o.port, NULL, NULL, handle, &s,
                                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                          MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
                                          MHD_OPTION_END);
  if(!d) {
    *errmsg = strdupf("cannot listen on %s:%d: %s", s.o.host, s.o.port, strerror(errno));
    pthread_mutex_destroy(&s.mu);
    return MN_EIO;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  int port = info ? info->port : s.o.port;
  snprintf(s.origin, sizeof s.origin, strchr(s.o.host, ':') ? "http://[%s]:%d" : "http://%s:%d",
           s.o.host, port);
  if(s.o.on_listening)
    s.o.on_listening(port, s.o.ud);
  while(!*s.o.stop) {
    struct timespec ts = { 0, 100 * 1000000 };
    nanosleep(&ts, NULL);
  }
  MHD_stop_daemon(d);
  pthread_mutex_destroy(&s.mu);
  return MN_OK;
}

/* fakellm: a fake LLM server speaking the providers' real wire formats.
 *
 * One thread, one poll() loop. A request is read off a keep-alive
 * connection, routed (route.c), answered by a rule or the extractive brain
 * (rules.c), rendered in its provider's format (render.c) into a *plan*: a
 * list of timed steps (bytes to send, then what to do). The connection
 * engine (conn.c) holds model requests in a FIFO until one of S slots is
 * free, then plays the plan against the clock. Nothing here links
 * libminions: the server must stay independent of the code it tests.
 */
#ifndef MN_FAKELLM_H
#define MN_FAKELLM_H

#include <poll.h>
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Named limits on what a client may make us hold. */
#define MN_FK_MAX_HEAD (64u << 10)          /* request line + headers */
#define MN_FK_MAX_HEADERS 128
#define MN_FK_MAX_BODY (64u << 20)          /* request body -> 413 */
#define MN_FK_MAX_PIPELINED (1u << 20)      /* bytes read ahead while busy */
#define MN_FK_HUGE_BYTES (100ull << 20)     /* the "huge" fault's body */
#define MN_FK_RECORDS 10000                 /* requests kept in memory */
#define MN_FK_RECORD_BODY (1u << 20)        /* body kept per in-memory record */
#define MN_FK_RECORD_TOTAL (256u << 20)     /* body bytes kept over all records */
#define MN_FK_REQ_TIMEOUT_S 30.0            /* to send a whole request */
#define MN_FK_LINGER_S 2.0                  /* drain input before closing */

/* ---- small helpers (util.c) ------------------------------------------ */

/* Growable byte buffer, always NUL-terminated. Aborts on OOM; callers
 * enforce the caps above before appending what a client sent. */
typedef struct mn_fk_buf {
  char *data;
  size_t len;
  size_t cap;
} mn_fk_buf;

void mn_fk_buf_add(mn_fk_buf *b, const void *p, size_t n);
void mn_fk_buf_puts(mn_fk_buf *b, const char *s);
void mn_fk_buf_printf(mn_fk_buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
void mn_fk_buf_consume(mn_fk_buf *b, size_t n);
char *mn_fk_buf_steal(mn_fk_buf *b, size_t *len_out);
void mn_fk_buf_free(mn_fk_buf *b);

void *mn_fk_xmalloc(size_t n);
void *mn_fk_xcalloc(size_t n, size_t sz);
void *mn_fk_xrealloc(void *p, size_t n);
char *mn_fk_xstrdup(const char *s);
char *mn_fk_xstrndup(const char *s, size_t n);

double mn_fk_now(void);                 /* CLOCK_MONOTONIC seconds */
/* memmem and strcasestr, which POSIX does not have. */
void *mn_fk_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen);
char *mn_fk_strcasestr(const char *hay, const char *needle);
/* Make fd non-blocking and close-on-exec; 0 or -1. */
int mn_fk_fd_flags(int fd);
/* Copy of s[0..n) where bytes that are not valid UTF-8 become '?', so
 * jansson accepts it as a string. */
char *mn_fk_utf8_clean(const char *s, size_t n);
/* Longest prefix of s[0..n) not longer than max bytes that does not cut a
 * UTF-8 sequence. */
size_t mn_fk_utf8_cut(const char *s, size_t n, size_t max);
/* JSON dump, compact, keys in insertion order; caller frees. */
char *mn_fk_dump(const json_t *j);

/* ---- requests and plans ---------------------------------------------- */

typedef struct mn_fk_header {
  char *name;           /* lower-cased */
  char *value;          /* surrounding blanks trimmed */
} mn_fk_header;

/* One HTTP request as read off the wire (pointers into the connection's
 * copy of the head; valid while the request is handled). */
typedef struct mn_fk_req {
  char *method;
  char *path;           /* target before '?', percent-decoded */
  char *query;          /* raw text after '?', "" if none */
  mn_fk_header headers[MN_FK_MAX_HEADERS];
  size_t n_headers;
  const char *body;
  size_t body_len;
  int http10;
  double t_recv;
} mn_fk_req;

/* Value of header `lname` (lower case), NULL if absent. */
const char *mn_fk_req_header(const mn_fk_req *r, const char *lname);
/* Value of query parameter `name`, percent-decoded, or NULL; caller frees. */
char *mn_fk_query_param(const char *query, const char *name);

/* What to do once a step's bytes are queued. */
enum {
  MN_FK_RELEASE = 1,   /* the request gives its slot back */
  MN_FK_DONE = 2,      /* reply complete; the connection stays open */
  MN_FK_CLOSE = 4,     /* reply ends here: close after the bytes are sent */
  MN_FK_RST = 8,       /* abort the connection with a TCP reset */
  MN_FK_HOLD = 16,     /* send nothing more until the client goes away */
  MN_FK_HUGE = 32      /* start the generated body (see plan.huge_*) */
};

typedef struct mn_fk_step {
  double at;           /* seconds after the service start */
  char *data;          /* owned; may be NULL */
  size_t len;
  unsigned flags;
} mn_fk_step;

typedef struct mn_fk_plan {
  mn_fk_step *steps;
  size_t n, cap;
  int needs_slot;      /* a model request: waits for a slot, timed steps */
  int model;           /* counted in the stats */
  int status;          /* HTTP status, for the record */
  /* "huge": after the step with MN_FK_HUGE, send huge_unit repeatedly
   * (huge_left bytes in all, the last unit possibly cut), then huge_post,
   * then close. */
  char *huge_unit;
  size_t huge_unit_len;
  uint64_t huge_left;
  char *huge_post;
  size_t huge_post_len;
  json_t *record;      /* this request's record (a reference), or NULL */
  json_t *record_full; /* its whole body when the record holds a cut one */
  /* model timing (--prefill-tps): steps were planned for a 1 s service and
   * are scaled at dispatch to prefill + decode on the slot the request gets */
  char *prompt;        /* all message text, for the prefix cache */
  long out_tokens;
} mn_fk_plan;

void mn_fk_plan_step(mn_fk_plan *p, double at, char *data, size_t len,
                     unsigned flags);
void mn_fk_plan_free(mn_fk_plan *p);

/* ---- rules (rules.c) ------------------------------------------------- */

/* Routes, as rules and records name them. */
typedef enum mn_fk_route {
  MN_FK_OPENAI = 0,
  MN_FK_OLLAMA,
  MN_FK_ANTHROPIC,
  MN_FK_GEMINI,
  MN_FK_EMBED,
  MN_FK_NROUTES
} mn_fk_route;

/* Faults a rule may ask for. */
typedef enum mn_fk_fault {
  MN_FK_F_NONE = 0,
  MN_FK_F_STATUS,      /* an HTTP error status (429, 500, 503, ...) */
  MN_FK_F_RESET,
  MN_FK_F_STALL,
  MN_FK_F_STALL_MID,
  MN_FK_F_TRUNCATE,
  MN_FK_F_INVALID_JSON,
  MN_FK_F_HUGE
} mn_fk_fault;

/* A model request, reduced to what rules and the brain look at. */
typedef struct mn_fk_chat {
  mn_fk_route route;
  const char *model;
  int stream;
  int json;            /* the client asked for JSON output */
  char **texts;        /* every message's text, in order, system first */
  size_t n_texts;
  const char *last_user;   /* last user message text, "" if none */
  size_t prompt_bytes;     /* bytes of all message text */
} mn_fk_chat;

/* How a request is to be answered. */
typedef struct mn_fk_answer {
  char *text;          /* reply text (owned) */
  int length;          /* finish reason "length" instead of "stop" */
  long prompt, completion, cached;   /* tokens */
  mn_fk_fault fault;
  int status;          /* for MN_FK_F_STATUS */
  double retry_after;  /* seconds, < 0: none */
  double stall_s;      /* < 0: until the client goes away */
  double delay_s;      /* extra service time */
  int rule;            /* index of the rule used, -1 for the brain */
  int ignore_stream;   /* answer with one JSON body even if a stream was asked */
  const char *raw_body, *raw_ctype;   /* send these bytes as they are (the rule's) */
  int raw_status;
} mn_fk_answer;

typedef struct mn_fk_rules mn_fk_rules;

/* A fault by the name rules use ("429", "reset", "stall", ...); 0, or -1
 * for an unknown name. status is set for MN_FK_F_STATUS, else 0. */
int mn_fk_fault_parse(const char *name, mn_fk_fault *fault, int *status);

/* Load a script file ({"rules": [...], "extract": "REGEX"}). On error
 * returns NULL and a one-line message in *err (caller frees). */
mn_fk_rules *mn_fk_rules_load(const char *path, char **err);
mn_fk_rules *mn_fk_rules_new(void);
void mn_fk_rules_free(mn_fk_rules *r);
/* Prepend rules given as a JSON array, or an object {"rules": [...],
 * "extract": "..."}; 0 or -1 with *err set. */
int mn_fk_rules_add_runtime(mn_fk_rules *r, const json_t *j, char **err);
/* Drop runtime rules and the runtime extract regex; rewind use counts. */
void mn_fk_rules_reset(mn_fk_rules *r);
/* Decide the answer for a chat (or embedding) request. */
void mn_fk_rules_answer(mn_fk_rules *r, const mn_fk_chat *chat,
                        mn_fk_answer *out);
void mn_fk_answer_free(mn_fk_answer *a);

/* ---- rendering (render.c) -------------------------------------------- */

/* Render a chat answer in the route's wire format into plan steps.
 * service_s: slot time before the reply completes (streams spread their
 * events over it). body: the request (for stream_options etc.). */
void mn_fk_render_chat(mn_fk_plan *plan, const mn_fk_req *req,
                       const json_t *body, const mn_fk_chat *chat,
                       const mn_fk_answer *ans, double service_s,
                       unsigned long id);
/* A non-streamed JSON reply (embeddings) with the answer's fault applied,
 * completed service_s + delay after the service start. */
void mn_fk_render_body(mn_fk_plan *plan, const mn_fk_req *req,
                       mn_fk_route route, const mn_fk_answer *ans,
                       double service_s, const char *ctype, const char *body);
/* A complete error reply in the route's error format, sent at once. */
void mn_fk_render_error(mn_fk_plan *plan, const mn_fk_req *req,
                        mn_fk_route route, int status, const char *msg);
/* Error format for a path that is not a model route. */
void mn_fk_render_path_error(mn_fk_plan *plan, const mn_fk_req *req,
                             int status, const char *msg);
/* A complete reply with a body, one step at `at` with exactly `flags`. */
void mn_fk_render_simple(mn_fk_plan *plan, const mn_fk_req *req, int status,
                         const char *ctype, const char *extra_headers,
                         const char *body, size_t len, double at,
                         unsigned flags);
/* The reason phrase of a status line ("Too Many Requests"). */
const char *mn_fk_reason(int status);

/* "openai", "ollama", "anthropic", "gemini", "embed". */
const char *mn_fk_route_name(mn_fk_route r);

/* ---- the server ------------------------------------------------------ */

typedef struct mn_fk_conn mn_fk_conn;

/* --prefix-cache: none; slot (llama.cpp cache_prompt, Ollama: a slot keeps
 * the last prompt's KV cache, and a request goes to the free slot sharing
 * the longest prefix with it); global (vLLM automatic prefix caching: any
 * of the last MN_FK_CACHE_ENTRIES prompts, on any slot). */
enum { MN_FK_CACHE_NONE, MN_FK_CACHE_SLOT, MN_FK_CACHE_GLOBAL };
#define MN_FK_CACHE_ENTRIES 256

typedef struct mn_fk_server {
  int lfd;                   /* listening socket */
  int sig_rd;                /* self-pipe: SIGTERM/SIGINT write a byte */
  int slots;
  double service_s;
  /* a model server's timing (0: off): prompt tokens per second per slot,
   * seconds per output token with one slot busy, and how much each other
   * busy slot slows decoding (continuous batching shares the GPU) */
  double prefill_tps, decode_s, decode_slowdown;
  int prefix_cache;          /* MN_FK_CACHE_* */
  char **slot_prompt;        /* per slot: the prompt it served last */
  int *slot_busy;
  char *cache_ring[MN_FK_CACHE_ENTRIES];   /* global: the last prompts */
  int cache_next;
  uint64_t prompt_tokens, cached_tokens;   /* over all model requests */
  const char *require_key;
  int verbose;
  mn_fk_rules *rules;
  /* --fault-rate: a model request no rule gave a fault gets, with that
   * probability, one of the --faults kinds, drawn from a generator seeded
   * by --seed: the same sequence of requests meets the same faults */
  double fault_rate;
  struct { mn_fk_fault fault; int status; char name[16]; } fault_kinds[16];
  int n_fault_kinds;
  double fault_stall_s;
  uint64_t rng;
  uint64_t faults_injected;
  unsigned long next_id;     /* reply ids */

  /* slots and the FIFO of requests waiting for one */
  int serving;
  int queued;
  mn_fk_conn *q_head, *q_tail;
  int dispatching;

  /* stats (/_fake/stats) */
  uint64_t requests;
  int concurrent, max_concurrent, max_serving;

  /* records */
  FILE *rec;
  int rec_dirty;
  uint64_t seq;
  json_t **ring;             /* MN_FK_RECORDS slots */
  size_t ring_head, ring_n;
  size_t ring_body_bytes;

  /* timers: a min-heap of connections by deadline */
  mn_fk_conn **heap;
  size_t heap_n, heap_cap;

  /* the poll set, rebuilt every turn: the connection of pfd[i] is
   * pconn[i] (NULL for the listener and the signal pipe) */
  struct pollfd *pfd;
  mn_fk_conn **pconn;
  size_t pfd_cap;

  mn_fk_conn *all;           /* live connections */
  mn_fk_conn *graveyard;     /* dead connections, freed after each batch */
  size_t n_conns;
  size_t n_accepted;           /* connections accepted since start */
  int reserve_fd;            /* spare fd, given up to shed a connection on EMFILE */
  int stop;
} mn_fk_server;

/* conn.c */
void mn_fk_accept(mn_fk_server *s);
/* Put the live connections in s->pfd from entry `first` on (growing the
 * arrays; entries before `first` are the caller's); the entry count. */
size_t mn_fk_poll_fill(mn_fk_server *s, size_t first);
/* Handle what poll() reported for the connections in s->pfd[first..n). */
void mn_fk_poll_run(mn_fk_server *s, size_t first, size_t n);
void mn_fk_timers_run(mn_fk_server *s);   /* fire the timers that are due */
double mn_fk_timers_next(mn_fk_server *s);   /* the earliest deadline, 0: none */
void mn_fk_reap(mn_fk_server *s);
void mn_fk_shutdown(mn_fk_server *s);

/* route.c: answer one request (fills plan). */
void mn_fk_handle(mn_fk_server *s, const mn_fk_req *req, mn_fk_plan *plan);

/* record.c */
/* Start the record of a request (body: the parsed JSON body or NULL,
 * borrowed); sets plan->record (kept in memory too) and, when the body is
 * too big to keep in memory whole, plan->record_full for the file. */
void mn_fk_record_start(mn_fk_server *s, mn_fk_plan *plan, const mn_fk_req *req,
                        const char *route, const json_t *body);
/* The request is over: set status and t_reply (< 0: none), write the line. */
void mn_fk_record_finish(mn_fk_server *s, mn_fk_plan *plan, double t_reply);
/* The last `last` records (all if fewer), oldest first. */
json_t *mn_fk_record_list(mn_fk_server *s, size_t last);
void mn_fk_record_clear(mn_fk_server *s);

#endif

/* Fan-out efficiency of the MinionS execute step.
 *
 *   bench_fanout [--build DIR] [--fakellm PATH] [--server fakellm|lean|both]
 *                [--runs N] [--quick] [--stream] [--over K]
 *                [--slots S] [--jobs J] [--trace FILE]
 *
 * A local fakellm with S slots, each request holding its slot T ms; one
 * MinionS round (the public API, protocol "minions", one round) whose
 * remote-written Lua program makes exactly J jobs. With the server's
 * slots the only limit, the execute step takes J*T/S; efficiency is that
 * ideal over the measured time, from the first JOBS_PROGRESS event (0 of J,
 * before any job is serialised) to the last (J of J). The client runs
 * --local-parallel S per endpoint, so it must keep every slot busy itself
 * (--over K: K x S, the server then queues the extra requests).
 * Each setting is a fresh server; its /_fake/stats must show J requests per
 * run and S slots busy at once, or the row is marked.
 *
 * Settings: S in {1, 4, 8, 32} x J in {64, 512, 2048} at T = 20 ms; two
 * endpoints of 8 slots each; and T = 0 (jobs per second: the orchestrator's
 * own ceiling, the server answering at once). Median of --runs runs
 * (default 3; --quick: 1 run, J <= 512). The lines starting "summary:" are
 * what bench/run.sh tabulates. --slots/--jobs run only the rows with that
 * S (16: the two endpoints of 8) or J; --trace appends lean's per-request
 * timeline (arrival, slot start, due, reply sent) and each run's local
 * phase to FILE, all CLOCK_MONOTONIC seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "minions.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"

#define T_MS 20.0
#define TARGET_EFFICIENCY 0.95
#define TARGET_JOBS_PER_S 5000.0
#define MAX_RUNS 15

/* The remote: the advice, then a program that makes exactly JOBS=n jobs
 * (n is read from the document), then a synthesis. */
static const char REMOTE_SCRIPT[] =
  "{\"rules\": [\n"
  " {\"when\": {\"last_contains\": \"write short advice\"},\n"
  "  \"reply\": \"Look for the fiscal year the excerpt reports on.\"},\n"
  " {\"when\": {\"last_contains\": \"Write a Lua 5.4 program\"},\n"
  "  \"reply\": \"```lua\\n"
  "function prepare_jobs(context, prev_jobs)\\n"
  "  local n = tonumber(string.match(context[1], 'JOBS=(%d+)'))\\n"
  "  local jobs = {}\\n"
  "  for i = 1, n do\\n"
  "    jobs[#jobs + 1] = { chunk = context[1], task = 'Which fiscal year does the excerpt report on?',\\n"
  "                        advice = 'Quote the sentence.' }\\n"
  "  end\\n"
  "  return jobs\\n"
  "end\\n"
  "```\"},\n"
  " {\"when\": {\"last_contains\": \"Think step by step: which findings\"},\n"
  "  \"reply\": \"Every excerpt names the same fiscal year.\"},\n"
  " {\"when\": {\"last_contains\": [\"This was the last round\"]},\n"
  "  \"reply\": \"{\\\"decision\\\": \\\"provide_final_answer\\\", \\\"explanation\\\": \\\"quoted\\\", "
  "\\\"answer\\\": \\\"fiscal 2018\\\", \\\"feedback\\\": null, \\\"scratchpad\\\": \\\"done\\\"}\"}\n"
  "]}\n";

/* The local: the extractive brain quotes the sentence naming the year. */
static const char LOCAL_SCRIPT[] = "{\"extract\": \"fiscal (year )?20[0-9][0-9]\"}\n";

/* About 1.5 KB of filing-like prose: the chunk every job carries. */
static const char *const DOC_LINES[] = {
  "Item 7. Management's Discussion and Analysis of Financial Condition and Results of Operations.",
  "The following discussion should be read together with the consolidated financial statements",
  "and the notes to them. Net sales increased 3.5 percent in fiscal 2018 to 32.8 billion dollars,",
  "driven by organic local-currency growth across all business segments and by acquisitions.",
  "Operating income margins were 21.7 percent, down 0.4 percentage points from the prior year,",
  "as higher raw material and logistics costs offset the benefits of productivity programs.",
  "Cash flows from operating activities were 6.4 billion dollars, and capital expenditures were",
  "1.6 billion dollars, in line with the plan announced at the start of the year. The company",
  "returned 6.3 billion dollars to shareholders through dividends and share repurchases.",
  "Looking ahead, management expects organic growth of 2 to 5 percent and continued investment",
  "in research and development, which amounted to 5.8 percent of sales during the period.",
  "Foreign currency translation reduced reported sales by 0.6 percent; the strongest effects",
  "came from the euro and the Chinese yuan. Pension expense declined as discount rates rose.",
  "Segment results are discussed below, followed by liquidity and capital resources.",
  NULL
};

/* ---- lean: a second, minimal server with slots ----------------------------
 *
 * fakellm parses and records every request with jansson and renders its
 * reply, some 60-110 us per request on one thread, so with many slots a wave
 * of requests reaches its slots spread over milliseconds whatever the
 * client does. "lean" is a calibration server with a few microseconds per
 * request: it reads HTTP/1.1 requests off keep-alive connections without
 * parsing their JSON, holds each in one of S slots for T ms (FIFO; a freed
 * slot takes the next request at that same instant, timed to well under
 * 1 ms by poll() and nanosleep())
 * and answers with a fixed chat.completion whose content is a job output.
 * Any GET answers the stats bench_fake_stats reads. It runs in a child
 * process (fork) and shares nothing with the client. */

#define LEAN_MAX_CONNS 4096
#define LEAN_MAX_REQUEST (8u << 20)
#define LEAN_MAX_SLOTS 256

typedef struct lean_conn {
  int fd;
  char *in;
  size_t len, cap;
  size_t req_len;            /* bytes of the request being served; 0: none */
  char *out;
  size_t out_len, out_off;
  double deadline;           /* while serving */
  double arrival;            /* when the request being served was whole */
  size_t trace_at;           /* its reply time's place in lean.trace */
  int state;                 /* 0 reading, 1 queued, 2 serving */
  struct lean_conn *qnext;
  size_t idx;                /* its place in lean.conns */
} lean_conn;

typedef struct lean {
  int lfd;
  lean_conn **conns;         /* open connections */
  size_t n_conns, cap_conns;
  struct pollfd *pfd;        /* the poll set, rebuilt each turn: [0] the */
  lean_conn **pconn;         /* listener, then conns (pconn[i] of pfd[i]) */
  size_t cap_pfd;
  int slots;
  double t_s;
  lean_conn *serving[LEAN_MAX_SLOTS];
  int n_serving, max_serving;
  lean_conn *qhead, *qtail;
  long requests;
  double *trace;             /* --trace: arrival, slot start, due, reply sent; 4 per request */
  size_t n_trace, cap_trace;
} lean;

static const char *g_trace_path;   /* --trace FILE: lean's per-request timeline */

static const char LEAN_BODY[] =
  "{\"id\":\"chatcmpl-lean\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"fake\","
  "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
  "\"{\\\"explanation\\\":\\\"The excerpt names the fiscal year.\\\",\\\"citation\\\":"
  "\\\"Net sales increased 3.5 percent in fiscal 2018\\\",\\\"answer\\\":\\\"fiscal 2018\\\"}\"},"
  "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":500,\"completion_tokens\":40,"
  "\"total_tokens\":540}}";

static double lean_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The earliest deadline of a slot, 0: none. */
static double lean_next(const lean *L)
{
  double next = 0;
  for(int i = 0; i < L->n_serving; i++)
    if(!next || L->serving[i]->deadline < next)
      next = L->serving[i]->deadline;
  return next;
}

/* poll() counts whole ms: it waits those (rounded down, never late) and
 * nanosleep() the rest, so slots end well under 1 ms after their time. */
static int lean_timeout(double deadline)
{
  if(!deadline)
    return -1;
  double ms = (deadline - lean_now()) * 1000.0;
  return ms <= 0 ? 0 : ms > 3600000.0 ? 3600000 : (int)ms;
}

static void lean_sleep_until(double deadline)
{
  double rest = deadline - lean_now();
  if(!deadline || rest <= 0)
    return;
  struct timespec ts = { (time_t)rest, 0 };
  ts.tv_nsec = (long)((rest - (double)ts.tv_sec) * 1e9) + 1;
  if(ts.tv_nsec > 999999999L)
    ts.tv_nsec = 999999999L;
  nanosleep(&ts, NULL);
}

static void lean_close(lean *L, lean_conn *c)
{
  if(c->state == 1) {   /* unlink from the queue */
    lean_conn **pp = &L->qhead, *prev = NULL;
    while(*pp && *pp != c) {
      prev = *pp;
      pp = &(*pp)->qnext;
    }
    if(*pp) {
      *pp = c->qnext;
      if(L->qtail == c)
        L->qtail = prev;
    }
  }
  else if(c->state == 2) {
    for(int i = 0; i < L->n_serving; i++)
      if(L->serving[i] == c) {
        L->serving[i] = L->serving[--L->n_serving];
        break;
      }
  }
  L->conns[c->idx] = L->conns[--L->n_conns];
  L->conns[c->idx]->idx = c->idx;
  close(c->fd);
  free(c->in);
  free(c->out);
  free(c);
}

/* Queue bytes and write what the socket takes; the rest on POLLOUT (the
 * poll set asks for it while bytes are left over). */
static void lean_send(lean *L, lean_conn *c, const char *p, size_t n)
{
  c->out = realloc(c->out, c->out_len + n);
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
  while(c->out_off < c->out_len) {
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, 0);   /* SIGPIPE ignored */
    if(w > 0) {
      c->out_off += (size_t)w;
      continue;
    }
    if(w < 0 && errno == EINTR)
      continue;
    break;
  }
  if(c->out_off == c->out_len)
    c->out_off = c->out_len = 0;
}

static void lean_parse(lean *L, lean_conn *c);

static void lean_start_service(lean *L, lean_conn *c, double start)
{
  if(g_trace_path) {
    if(L->n_trace + 4 > L->cap_trace) {
      L->cap_trace = L->cap_trace ? 2 * L->cap_trace : 4 * 4096;
      L->trace = realloc(L->trace, L->cap_trace * sizeof *L->trace);
    }
    L->trace[L->n_trace++] = c->arrival;
    L->trace[L->n_trace++] = start;
    L->trace[L->n_trace++] = start + L->t_s;
    L->trace[L->n_trace++] = 0;   /* when the reply went out: lean_finish */
    c->trace_at = L->n_trace - 1;
  }
  c->state = 2;
  c->deadline = start + L->t_s;
  L->serving[L->n_serving++] = c;
  if(L->n_serving > L->max_serving)
    L->max_serving = L->n_serving;
}

/* Reply to c, free its slot for the next in the queue (same instant). The
 * reply leaves in one write, as servers send a small reply. */
static void lean_finish(lean *L, lean_conn *c, int slot)
{
  char reply[160 + sizeof LEAN_BODY];
  int n = snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s", sizeof LEAN_BODY - 1, LEAN_BODY);
  double at = c->deadline;
  L->serving[slot] = L->serving[--L->n_serving];
  c->state = 0;
  L->requests++;
  memmove(c->in, c->in + c->req_len, c->len - c->req_len);
  c->len -= c->req_len;
  c->req_len = 0;
  lean_send(L, c, reply, (size_t)n);
  if(g_trace_path)
    L->trace[c->trace_at] = lean_now();
  lean_conn *next = L->qhead;
  if(next) {
    L->qhead = next->qnext;
    if(!L->qhead)
      L->qtail = NULL;
    lean_start_service(L, next, at);
  }
  lean_parse(L, c);   /* a request read ahead */
}

/* A whole request in c->in: a GET gets the stats at once, others a slot. */
static void lean_parse(lean *L, lean_conn *c)
{
  if(c->state != 0 || c->len == 0)
    return;
  char *end = mn_memmem(c->in, c->len, "\r\n\r\n", 4);
  if(!end)
    return;
  size_t head = (size_t)(end - c->in) + 4, body = 0;
  for(char *p = c->in; p < end; p++) {
    if((p == c->in || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0)
      body = strtoul(p + 15, NULL, 10);
  }
  if(c->len < head + body)
    return;
  c->req_len = head + body;
  if(strncmp(c->in, "GET ", 4) == 0) {
    FILE *tf = g_trace_path && L->n_trace ? fopen(g_trace_path, "a") : NULL;
    for(size_t i = 0; tf && i < L->n_trace; i += 4)
      fprintf(tf, "%.6f %.6f %.6f %.6f\n", L->trace[i], L->trace[i + 1], L->trace[i + 2],
              L->trace[i + 3]);
    if(tf)
      fclose(tf);
    L->n_trace = 0;
    char js[128], resp[256];
    int jn = snprintf(js, sizeof js, "{\"requests\":%ld,\"max_serving\":%d}", L->requests,
                      L->max_serving);
    int rn = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n%s", jn, js);
    memmove(c->in, c->in + c->req_len, c->len - c->req_len);
    c->len -= c->req_len;
    c->req_len = 0;
    lean_send(L, c, resp, (size_t)rn);
    lean_parse(L, c);
    return;
  }
  c->arrival = lean_now();
  if(L->n_serving < L->slots)
    lean_start_service(L, c, c->arrival);
  else {
    c->state = 1;
    c->qnext = NULL;
    if(L->qtail)
      L->qtail->qnext = c;
    else
      L->qhead = c;
    L->qtail = c;
  }
}

static void lean_accept(lean *L)
{
  int fd;
  while((fd = accept(L->lfd, NULL, NULL)) >= 0) {
    if(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    lean_conn *c = calloc(1, sizeof *c);
    c->fd = fd;
    if(L->n_conns == L->cap_conns) {
      L->cap_conns = L->cap_conns ? 2 * L->cap_conns : 256;
      L->conns = realloc(L->conns, L->cap_conns * sizeof *L->conns);
    }
    c->idx = L->n_conns;
    L->conns[L->n_conns++] = c;
  }
}

static void lean_event(lean *L, lean_conn *c, short revents)
{
  if(revents & POLLOUT)
    lean_send(L, c, "", 0);
  if(revents & (POLLIN | POLLHUP | POLLERR)) {
    if(c->cap - c->len < 65536) {
      c->cap = c->cap ? c->cap * 2 : 131072;
      c->in = realloc(c->in, c->cap);
    }
    ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
    if(r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) ||
       c->len + (size_t)(r > 0 ? r : 0) > LEAN_MAX_REQUEST) {
      lean_close(L, c);
      return;
    }
    if(r > 0) {
      c->len += (size_t)r;
      lean_parse(L, c);
    }
  }
}

static void lean_serve(int lfd, int slots, double t_ms)
{
  lean L;
  memset(&L, 0, sizeof L);
  L.lfd = lfd;
  L.slots = slots > LEAN_MAX_SLOTS ? LEAN_MAX_SLOTS : slots;
  L.t_s = t_ms / 1000.0;
  for(;;) {
    size_t nfds = 1 + L.n_conns;
    if(nfds > L.cap_pfd) {
      L.cap_pfd = 2 * nfds;
      L.pfd = realloc(L.pfd, L.cap_pfd * sizeof *L.pfd);
      L.pconn = realloc(L.pconn, L.cap_pfd * sizeof *L.pconn);
    }
    L.pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
    for(size_t i = 0; i < L.n_conns; i++) {
      lean_conn *c = L.conns[i];
      L.pfd[i + 1] = (struct pollfd){
        .fd = c->fd, .events = (short)(POLLIN | (c->out_off < c->out_len ? POLLOUT : 0)) };
      L.pconn[i + 1] = c;
    }
    int timeout = lean_timeout(lean_next(&L));
    int n = poll(L.pfd, (nfds_t)nfds, timeout);
    if(n == 0 && timeout == 0)
      lean_sleep_until(lean_next(&L));   /* the sub-ms rest, nothing to read */
    /* a conn closes only in its own event, and one accepted now is not in
     * this turn's set, so every pconn[i] with revents is still open */
    for(size_t i = 1; n > 0 && i < nfds; i++)
      if(L.pfd[i].revents)
        lean_event(&L, L.pconn[i], L.pfd[i].revents);
    if(n > 0 && (L.pfd[0].revents & POLLIN))
      lean_accept(&L);
    double now = lean_now();
    for(int k = 0; k < L.n_serving;) {
      if(L.serving[k]->deadline <= now)
        lean_finish(&L, L.serving[k], k);   /* moves the last into k */
      else
        k++;
    }
  }
}

/* Start lean in a child process; fills f like bench_fake_start. */
static int lean_start(bench_fake *f, int slots, double t_ms)
{
  memset(f, 0, sizeof *f);
  f->pid = -1;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if(lfd >= 0 && fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) != 0) {
    close(lfd);
    lfd = -1;
  }
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if(lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4096) != 0 ||
     getsockname(lfd, (struct sockaddr *)&a, &al) != 0) {
    perror("bench_fanout: lean server");
    if(lfd >= 0)
      close(lfd);
    return -1;
  }
  fflush(stdout);
  pid_t pid = fork();
  if(pid < 0) {
    perror("bench_fanout: fork");
    close(lfd);
    return -1;
  }
  if(pid == 0) {
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);   /* lean_send() to a gone client: EPIPE, not death */
    lean_serve(lfd, slots, t_ms);
    _exit(0);
  }
  close(lfd);
  f->pid = pid;
  f->port = ntohs(a.sin_port);
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
  return 0;
}

typedef struct setting {
  const char *name;
  int endpoints;
  int slots;         /* per endpoint */
  double t_ms;
  int jobs;
} setting;

typedef struct timer {
  double t_start, t_end;
  size_t total;
} timer;

static void on_event(const mn_event *ev, void *ud)
{
  timer *t = ud;
  if(ev->type != MN_EVENT_JOBS_PROGRESS)
    return;
  if(ev->jobs_done == 0)
    t->t_start = mn_now();
  if(ev->jobs_total && ev->jobs_done == ev->jobs_total)
    t->t_end = mn_now();
  t->total = ev->jobs_total;
}

/* One MinionS round; the local phase in seconds, or < 0 on failure. */
/* local_parallel = S x this (1: exactly the slots; more: the server queues) */
static int g_over = 1;

static double run_round(const setting *s, const char *remote_url, const bench_fake *locals,
                        const char *logpath, int stream, double *call_time)
{
  char head[32];
  snprintf(head, sizeof head, "JOBS=%d\n", s->jobs);
  size_t len = strlen(head);
  for(int i = 0; DOC_LINES[i]; i++)
    len += strlen(DOC_LINES[i]) + 1;
  char *doc = mn_xmalloc(len + 1);
  strcpy(doc, head);
  for(int i = 0; DOC_LINES[i]; i++) {
    strcat(doc, DOC_LINES[i]);
    strcat(doc, "\n");
  }
  mn_docs *docs;
  mn_docs_new(&docs);
  mn_docs_add_text(docs, "filing.txt", doc, strlen(doc));
  free(doc);

  const char *urls[2] = { locals[0].url, s->endpoints > 1 ? locals[1].url : NULL };
  timer t = { 0, 0, 0 };
  mn_run_opts o = MN_RUN_OPTS_INIT;
  o.protocol = MN_PROTOCOL_MINIONS;
  o.local_spec = "openai-compatible:fake";
  o.remote_spec = "openai-compatible:fake";
  o.local_urls = urls;
  o.n_local_urls = (size_t)s->endpoints;
  o.remote_url = remote_url;
  o.task = "Which fiscal year does the filing report on?";
  o.log_path = logpath;
  o.max_rounds = 1;
  o.max_jobs = s->jobs > 2048 ? s->jobs : 2048;
  o.local_parallel = s->slots * g_over;
  o.stream = stream;
  o.on_event = on_event;
  o.event_userdata = &t;
  mn_run *run = NULL;
  double secs = -1;
  int rc = mn_run_new(&run, &o);
  if(rc == MN_OK)
    rc = mn_run_execute(run, docs);
  if(rc != MN_OK)
    fprintf(stderr, "bench_fanout: %s: %s\n", s->name, mn_run_errmsg(run));
  else if(t.total != (size_t)s->jobs || t.t_end <= t.t_start)
    fprintf(stderr, "bench_fanout: %s: the round made %zu jobs, not %d\n", s->name, t.total,
            s->jobs);
  else {
    mn_timing tm;
    mn_run_timing(run, &tm);
    *call_time = tm.local_call_time;
    secs = t.t_end - t.t_start;
    FILE *tf = g_trace_path ? fopen(g_trace_path, "a") : NULL;
    if(tf) {
      fprintf(tf, "# local phase %.6f %.6f\n", t.t_start, t.t_end);
      fclose(tf);
    }
  }
  mn_run_free(run);
  mn_docs_free(docs);
  return secs;
}

static int run_setting(const setting *s, const char *fakellm, int use_lean,
                       const char *remote_url, const char *dir, int runs, int stream)
{
  bench_fake locals[2];
  char slots[16], service[32], script[4096];
  snprintf(slots, sizeof slots, "%d", s->slots);
  snprintf(service, sizeof service, "%g", s->t_ms);
  snprintf(script, sizeof script, "%s/local.json", dir);
  const char *args[] = { "--slots", slots, "--service-ms", service, "--script", script, NULL };
  const char *server = use_lean ? "lean" : "fakellm";
  for(int e = 0; e < s->endpoints; e++) {
    if((use_lean ? lean_start(&locals[e], s->slots, s->t_ms)
                 : bench_fake_start(&locals[e], fakellm, args)) != 0) {
      for(int k = 0; k < e; k++)
        bench_fake_stop(&locals[k]);
      return -1;
    }
  }
  char *logpath = mn_xasprintf("%s/run.json", dir);
  double secs[MAX_RUNS], calls[MAX_RUNS];
  int ok = 1;
  for(int r = 0; r < runs && ok; r++) {
    secs[r] = run_round(s, remote_url, locals, logpath, stream, &calls[r]);
    ok = secs[r] > 0;
  }
  long requests = 0, busy = 0, total_requests = 0, min_busy = -1;
  for(int e = 0; e < s->endpoints; e++) {
    if(bench_fake_stats(&locals[e], &requests, &busy) != 0)
      ok = 0;
    total_requests += requests;
    if(min_busy < 0 || busy < min_busy)
      min_busy = busy;   /* the least used endpoint */
    bench_fake_stop(&locals[e]);
  }
  free(logpath);
  if(!ok) {
    printf("%-8s %-22s failed (see above)\n", server, s->name);
    return -1;
  }
  double med = bench_median(secs, (size_t)runs);
  double med_call = bench_median(calls, (size_t)runs);
  int total_slots = s->slots * s->endpoints;
  /* every request must have reached the servers, and (with a service
   * time) every slot of each been busy at once */
  const char *mark = total_requests == (long)s->jobs * runs &&
                     (s->t_ms == 0 || min_busy == s->slots) ? "" : "  (!)";
  if(s->t_ms > 0) {
    double ideal = s->jobs * s->t_ms / 1000.0 / total_slots;
    double eff = ideal / med;
    printf("%-8s %-22s %5d %6d %9.3f %9.3f %9.3f %10.3f %7ld%s\n", server, s->name, total_slots,
           s->jobs, ideal, med, med_call, eff, min_busy, mark);
    printf("summary: fanout %s, %s, J=%d%s\tefficiency %.3f\t>= %.2f\t%s\n", server, s->name,
           s->jobs, g_over > 1 ? ", oversubscribed" : "", eff, TARGET_EFFICIENCY,
           eff >= TARGET_EFFICIENCY && !*mark ? "met" : "MISSED");
  }
  else {
    double rate = s->jobs / med;
    printf("%-8s %-22s %5d %6d %9s %9.3f %9.3f %10.0f %7ld%s\n", server, s->name, total_slots,
           s->jobs, "-", med, med_call, rate, min_busy, mark);
    printf("summary: fanout T=0, %s, %s replies, J=%d\t%.0f jobs/s\t>= %.0f\t%s\n", server,
           stream ? "streamed" : "whole", s->jobs, rate, TARGET_JOBS_PER_S,
           rate >= TARGET_JOBS_PER_S && !*mark ? "met" : "MISSED");
  }
  fflush(stdout);
  return 0;
}

/* --slots/--jobs/--quick: whether the row with S total slots and J jobs runs. */
static int g_only_slots, g_only_jobs, g_quick;

static int row_wanted(int total_slots, int jobs)
{
  if(g_only_jobs)
    return jobs == g_only_jobs && (!g_only_slots || total_slots == g_only_slots);
  return (!g_quick || jobs <= 512) && (!g_only_slots || total_slots == g_only_slots);
}

static void usage(FILE *f)
{
  fputs("usage: bench_fanout [--build DIR] [--fakellm PATH] [--server fakellm|lean|both]\n"
        "                    [--runs N] [--quick] [--stream] [--over K]\n"
        "                    [--slots S (16: 2 x 8)] [--jobs J] [--trace FILE (lean)]\n", f);
}

int main(int argc, char **argv)
{
  const char *build_arg = NULL, *fake_arg = NULL, *server_arg = "both";
  int runs = 3, quick = 0, stream = 0;
  for(int i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--build") && i + 1 < argc)
      build_arg = argv[++i];
    else if(!strcmp(argv[i], "--fakellm") && i + 1 < argc)
      fake_arg = argv[++i];
    else if(!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--quick"))
      quick = 1;
    else if(!strcmp(argv[i], "--stream"))
      stream = 1;
    else if(!strcmp(argv[i], "--server") && i + 1 < argc)
      server_arg = argv[++i];
    else if(!strcmp(argv[i], "--over") && i + 1 < argc)
      g_over = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--slots") && i + 1 < argc)
      g_only_slots = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--jobs") && i + 1 < argc)
      g_only_jobs = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--trace") && i + 1 < argc)
      g_trace_path = argv[++i];
    else if(!strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    else {
      usage(stderr);
      return 2;
    }
  }
  if(quick)
    runs = 1;
  g_quick = quick;
  if(g_only_slots && g_only_slots != 1 && g_only_slots != 4 && g_only_slots != 8 &&
     g_only_slots != 16 && g_only_slots != 32) {
    fprintf(stderr, "bench_fanout: --slots wants 1, 4, 8, 32 or 16 (two endpoints of 8)\n");
    return 2;
  }
  if(g_only_jobs && g_only_jobs != 64 && g_only_jobs != 512 && g_only_jobs != 2048) {
    fprintf(stderr, "bench_fanout: --jobs wants 64, 512 or 2048\n");
    return 2;
  }
  if(g_over < 1 || g_over > 8) {
    fprintf(stderr, "bench_fanout: --over wants 1..8\n");
    return 2;
  }
  int servers[2], n_servers = 0;   /* 0: fakellm, 1: lean */
  if(!strcmp(server_arg, "fakellm") || !strcmp(server_arg, "both"))
    servers[n_servers++] = 0;
  if((!strcmp(server_arg, "lean") || !strcmp(server_arg, "both")) && !stream)
    servers[n_servers++] = 1;   /* lean answers whole replies only */
  if(!n_servers) {
    fprintf(stderr, "bench_fanout: --server wants fakellm, lean or both (lean: whole replies)\n");
    return 2;
  }
  if(runs < 1 || runs > MAX_RUNS) {
    fprintf(stderr, "bench_fanout: --runs wants 1..%d\n", MAX_RUNS);
    return 2;
  }
  char *build = bench_build_dir(argv[0], build_arg);
  char *fakellm = fake_arg ? mn_xstrdup(fake_arg) : mn_xasprintf("%s/fakellm", build);
  if(access(fakellm, X_OK) != 0) {
    fprintf(stderr, "bench_fanout: no fake server at %s (build the fakellm target)\n", fakellm);
    return 1;
  }
  char dir[] = "/tmp/mn-bench-fanout-XXXXXX";
  if(!mkdtemp(dir)) {
    perror("bench_fanout: mkdtemp");
    return 1;
  }
  char *remote_script = mn_xasprintf("%s/remote.json", dir);
  char *local_script = mn_xasprintf("%s/local.json", dir);
  bench_fake remote;
  int rc = 1;
  if(mn_global_init() != MN_OK || bench_write_file(remote_script, REMOTE_SCRIPT) ||
     bench_write_file(local_script, LOCAL_SCRIPT))
    goto out;
  const char *rargs[] = { "--script", remote_script, NULL };
  if(bench_fake_start(&remote, fakellm, rargs) != 0)
    goto out;

  printf("MinionS fan-out: one round, J jobs, local server with S slots of T ms each, "
         "--local-parallel %s; %s replies; median of %d run%s\n", g_over == 1 ? "S" : "K x S",
         stream ? "streamed" : "whole", runs, runs == 1 ? "" : "s");
  printf("efficiency = (J*T/S) / local phase (first to last JOBS_PROGRESS event); "
         "call s = the run log's local_call_time\n");
  printf("%-8s %-22s %5s %6s %9s %9s %9s %10s %7s\n", "server", "setting (T = 20 ms)", "S", "J",
         "ideal s", "local s", "call s", "efficiency", "busy");
  static const int slots[] = { 1, 4, 8, 32 };
  static const int jobs[] = { 64, 512, 2048 };
  int failures = 0;
  for(int k = 0; k < n_servers; k++) {
    for(size_t si = 0; si < sizeof slots / sizeof *slots; si++)
      for(size_t ji = 0; ji < sizeof jobs / sizeof *jobs; ji++) {
        if(!row_wanted(slots[si], jobs[ji]))
          continue;
        char name[32];
        snprintf(name, sizeof name, "1 endpoint, S=%d", slots[si]);
        setting s = { name, 1, slots[si], T_MS, jobs[ji] };
        failures += run_setting(&s, fakellm, servers[k], remote.url, dir, runs, stream) != 0;
      }
    for(size_t ji = 0; ji < sizeof jobs / sizeof *jobs; ji++) {
      if(!row_wanted(16, jobs[ji]))
        continue;
      setting s = { "2 endpoints x 8 slots", 2, 8, T_MS, jobs[ji] };
      failures += run_setting(&s, fakellm, servers[k], remote.url, dir, runs, stream) != 0;
    }
  }
  printf("\n%-8s %-22s %5s %6s %9s %9s %9s %10s %7s\n", "server", "setting (T = 0)", "S", "J", "",
         "local s", "call s", "jobs/s", "busy");
  for(int k = 0; k < n_servers && !g_only_slots && !g_only_jobs; k++) {
    setting s0 = { "1 endpoint, S=8", 1, 8, 0, 2048 };
    failures += run_setting(&s0, fakellm, servers[k], remote.url, dir, runs, stream) != 0;
  }
  bench_fake_stop(&remote);
  rc = failures ? 1 : 0;
out:
  unlink(remote_script);
  unlink(local_script);
  char *log = mn_xasprintf("%s/run.json", dir);
  unlink(log);
  free(log);
  rmdir(dir);
  free(remote_script);
  free(local_script);
  free(fakellm);
  free(build);
  mn_global_cleanup();
  return rc;
}

/* What a run shows on stderr while it works: on a terminal one live status
 * line (elapsed time, round, jobs done with a bar and the time left,
 * tokens and cost so far per side) redrawn in place, with trace lines
 * (--verbose), retries and warnings printed above it. A small thread
 * redraws the line every quarter second so the clock moves during a long
 * remote call; a mutex keeps it and the event callback from interleaving. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define TICK_NS 250000000L

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int term_width(void)
{
#ifdef TIOCGWINSZ
  struct winsize ws;
  if(ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
    return ws.ws_col;
#endif
  return 80;
}

static void fmt_time(char *buf, size_t size, double s)
{
  long t = s < 0 ? 0 : s > 359999 ? 359999 : (long)(s + 0.5);   /* under 100 h */
  if(t >= 3600)
    snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void fmt_tokens(char *buf, size_t size, unsigned long long n)
{
  if(n >= 10000000ULL)
    snprintf(buf, size, "%.0fM", (double)n / 1e6);
  else if(n >= 1000000ULL)
    snprintf(buf, size, "%.1fM", (double)n / 1e6);
  else if(n >= 10000ULL)
    snprintf(buf, size, "%.0fk", (double)n / 1e3);
  else if(n >= 1000ULL)
    snprintf(buf, size, "%.1fk", (double)n / 1e3);
  else
    snprintf(buf, size, "%llu", n);
}

/* The status line, at most `width` - 1 columns (it is ASCII). */
static void compose(const cli_progress *p, char *out, size_t size, int width)
{
  double t = now_s();
  char el[32], ri[16], ro[16], li[16], lo[16], cost[24] = "";
  fmt_time(el, sizeof el, t - p->t0);
  fmt_tokens(ri, sizeof ri, p->remote.prompt_tokens);
  fmt_tokens(ro, sizeof ro, p->remote.completion_tokens);
  fmt_tokens(li, sizeof li, p->local.prompt_tokens);
  fmt_tokens(lo, sizeof lo, p->local.completion_tokens);
  if(p->cost >= 0)
    snprintf(cost, sizeof cost, " $%.4f", p->cost);
  char step[128] = "";
  if(p->total && p->done < p->total) {
    int bar = 20, fill = (int)((double)p->done / (double)p->total * bar);
    char bars[32];
    for(int i = 0; i < bar; i++)
      bars[i] = i < fill ? '#' : '-';
    bars[bar] = '\0';
    char eta[48] = "";
    if(p->done > 0) {
      double rate = (double)p->done / (t - p->t_jobs0 > 1e-3 ? t - p->t_jobs0 : 1e-3);
      char left[32];
      fmt_time(left, sizeof left, (double)(p->total - p->done) / rate);
      snprintf(eta, sizeof eta, " ETA %s", left);
    }
    snprintf(step, sizeof step, " jobs %zu/%zu [%s] %d%%%s", p->done, p->total, bars,
             (int)(100.0 * (double)p->done / (double)p->total), eta);
  } else if(p->waiting[0]) {
    snprintf(step, sizeof step, " waiting on %s", p->waiting);
  }
  char round[16] = "";
  if(p->round)
    snprintf(round, sizeof round, " round %d", p->round);
  snprintf(out, size, "%s%s%s | remote %s in %s out%s | local %s in %s out", el, round, step,
           ri, ro, cost, li, lo);
  if((int)strlen(out) > width - 1)
    out[width - 1] = '\0';
}

/* Callers hold the mutex. */
static void erase(cli_progress *p)
{
  if(p->drawn) {
    fputs("\r\033[K", stderr);
    p->drawn = 0;
  }
}

static void draw(cli_progress *p)
{
  if(!p->line || p->stopped)
    return;
  char buf[512];
  compose(p, buf, sizeof buf, term_width());
  fprintf(stderr, "\r\033[K%s", buf);
  fflush(stderr);
  p->drawn = 1;
}

static void *ticker(void *ud)
{
  cli_progress *p = ud;
  struct timespec ts = { 0, TICK_NS };
  for(;;) {
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&p->mu);
    int stop = p->stopped;
    if(!stop)
      draw(p);
    pthread_mutex_unlock(&p->mu);
    if(stop)
      return NULL;
  }
}

void cli_progress_start(cli_progress *p, int line, int trace, int verbose, int quiet)
{
  memset(p, 0, sizeof *p);
  p->line = line && !quiet;
  p->trace = trace && !quiet;
  p->verbose = verbose;
  p->quiet = quiet;
  p->cost = -1;
  p->t0 = now_s();
  pthread_mutex_init(&p->mu, NULL);
  if(p->line && pthread_create(&p->thread, NULL, ticker, p) == 0)
    p->has_thread = 1;
}

void cli_progress_stop(cli_progress *p)
{
  pthread_mutex_lock(&p->mu);
  erase(p);
  p->stopped = 1;
  pthread_mutex_unlock(&p->mu);
  if(p->has_thread)
    pthread_join(p->thread, NULL);
  p->has_thread = 0;
  pthread_mutex_destroy(&p->mu);
}

/* A line above the status line. */
static void say(cli_progress *p, const char *prefix, const char *text, int whole)
{
  erase(p);
  size_t len = strlen(text), show = whole ? len : (len > 120 ? 120 : len);
  fputs(prefix, stderr);
  for(size_t i = 0; i < show; i++)
    fputc(!whole && (text[i] == '\n' || text[i] == '\r') ? ' ' : text[i], stderr);
  fprintf(stderr, "%s\n", show < len ? "..." : "");
}

void cli_progress_event(const mn_event *ev, void *ud)
{
  cli_progress *p = ud;
  pthread_mutex_lock(&p->mu);
  const char *who = ev->side == MN_SIDE_LOCAL ? "local" : "remote";
  char prefix[96];
  switch(ev->type) {
  case MN_EVENT_WARNING:
    if(!p->quiet)
      say(p, "minions: warning: ", ev->text ? ev->text : "", 1);
    break;
  case MN_EVENT_RETRY:
    if(p->trace || p->line) {
      snprintf(prefix, sizeof prefix, "!! retrying %s: ", who);
      say(p, prefix, ev->text ? ev->text : "", 0);
    }
    break;
  case MN_EVENT_ROUND_STARTED:
    p->round = ev->round;
    p->total = p->done = 0;
    if(p->trace) {
      snprintf(prefix, sizeof prefix, "== round %d", ev->round);
      say(p, prefix, "", 1);
    }
    break;
  case MN_EVENT_MESSAGE:
    if(ev->to_model && ev->side == MN_SIDE_REMOTE)
      snprintf(p->waiting, sizeof p->waiting, "the remote model%s%s%s", ev->label ? " (" : "",
               ev->label ? ev->label : "", ev->label ? ")" : "");
    else if(ev->to_model && !p->total)
      snprintf(p->waiting, sizeof p->waiting, "the local model%s%s%s", ev->label ? " (" : "",
               ev->label ? ev->label : "", ev->label ? ")" : "");
    else
      p->waiting[0] = '\0';
    if(p->trace) {
      snprintf(prefix, sizeof prefix, "%s %s%s%s: ", ev->to_model ? "->" : "<-", who,
               ev->label ? " " : "", ev->label ? ev->label : "");
      say(p, prefix, ev->text ? ev->text : "", p->verbose);
    }
    break;
  case MN_EVENT_JOBS_PROGRESS:
    if(ev->jobs_done == 0)
      p->t_jobs0 = now_s();
    p->done = ev->jobs_done;
    p->total = ev->jobs_total;
    if(p->trace && !p->line && ev->jobs_done == ev->jobs_total) {
      snprintf(prefix, sizeof prefix, "   jobs %zu/%zu done", ev->jobs_done, ev->jobs_total);
      say(p, prefix, "", 1);
    }
    break;
  case MN_EVENT_USAGE:
    if(ev->usage_remote)
      p->remote = *ev->usage_remote;
    if(ev->usage_local)
      p->local = *ev->usage_local;
    p->cost = ev->cost_usd;
    break;
  default:
    break;
  }
  draw(p);
  pthread_mutex_unlock(&p->mu);
}

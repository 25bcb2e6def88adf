/* fakellm: command line, listening socket, the event loop. */
#include "fakellm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
  fputs("usage: fakellm [--host 127.0.0.1] [--port N] [--slots S] [--service-ms T]\n"
        "               [--script FILE] [--record FILE] [--require-key KEY] [--verbose]\n"
        "               [--prefill-tps N [--decode-ms T] [--decode-slowdown F]\n"
        "                [--prefix-cache slot|global|none]]\n"
        "               [--fault-rate P [--faults LIST] [--fault-stall-ms T] [--seed N]]\n"
        "A fake LLM server (OpenAI, Ollama, Anthropic, Gemini wire formats) for tests.\n"
        "Prints \"PORT <n>\" once listening; runs until SIGTERM/SIGINT.\n"
        "See tests/fake/README.md.\n", f);
}

static int die(const char *msg, const char *arg)
{
  fprintf(stderr, "fakellm: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
  return 2;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if(errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

/* Loopback only: this server has no business on a real network. */
static int bind_addr(const char *host, struct sockaddr_storage *ss,
                     socklen_t *len, int port)
{
  memset(ss, 0, sizeof *ss);
  if(strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if(inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    if((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
      return -1;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return 0;
  }
  if(inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    if(!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
      return -1;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return 0;
  }
  return -1;
}

static int listen_on(const char *host, int port, int *out_port)
{
  struct sockaddr_storage ss;
  socklen_t len;
  if(bind_addr(host, &ss, &len, port) != 0)
    return -2;
  int fd = socket(ss.ss_family, SOCK_STREAM, 0);
  if(fd < 0)
    return -1;
  if(mn_fk_fd_flags(fd) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if(bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
    close(fd);
    return -1;
  }
  len = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &len);
  *out_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
  return fd;
}

static void raise_nofile(void)
{
  struct rlimit rl;
  if(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* Long options by hand (POSIX getopt() has none), accepted as before:
 * "--name value" or "--name=value", a unique prefix of a name will do,
 * "--" ends the options. */
enum { OPT_HOST, OPT_PORT, OPT_SLOTS, OPT_SERVICE, OPT_SCRIPT, OPT_RECORD,
       OPT_KEY, OPT_VERBOSE, OPT_HELP, OPT_PREFILL, OPT_DECODE, OPT_SLOWDOWN, OPT_CACHE,
       OPT_FAULT_RATE, OPT_FAULTS, OPT_FAULT_STALL, OPT_SEED };
static const struct { const char *name; int has_arg; } opts[] = {
  [OPT_HOST] = { "host", 1 },       [OPT_PORT] = { "port", 1 },
  [OPT_SLOTS] = { "slots", 1 },     [OPT_SERVICE] = { "service-ms", 1 },
  [OPT_SCRIPT] = { "script", 1 },   [OPT_RECORD] = { "record", 1 },
  [OPT_KEY] = { "require-key", 1 }, [OPT_VERBOSE] = { "verbose", 0 },
  [OPT_HELP] = { "help", 0 },
  [OPT_PREFILL] = { "prefill-tps", 1 }, [OPT_DECODE] = { "decode-ms", 1 },
  [OPT_SLOWDOWN] = { "decode-slowdown", 1 }, [OPT_CACHE] = { "prefix-cache", 1 },
  [OPT_FAULT_RATE] = { "fault-rate", 1 }, [OPT_FAULTS] = { "faults", 1 },
  [OPT_FAULT_STALL] = { "fault-stall-ms", 1 }, [OPT_SEED] = { "seed", 1 },
};

/* --faults: comma-separated fault names, as rules spell them. */
static int parse_faults(mn_fk_server *srv, const char *list)
{
  srv->n_fault_kinds = 0;
  const char *p = list;
  while(*p) {
    size_t n = strcspn(p, ",");
    char name[16];
    if(n == 0 || n >= sizeof name ||
       srv->n_fault_kinds >= (int)(sizeof srv->fault_kinds / sizeof srv->fault_kinds[0]))
      return -1;
    memcpy(name, p, n);
    name[n] = '\0';
    int k = srv->n_fault_kinds;
    if(mn_fk_fault_parse(name, &srv->fault_kinds[k].fault, &srv->fault_kinds[k].status) != 0)
      return -1;
    memcpy(srv->fault_kinds[k].name, name, n + 1);
    srv->n_fault_kinds++;
    p += n;
    if(*p == ',' && *++p == '\0')
      return -1;
  }
  return srv->n_fault_kinds > 0 ? 0 : -1;
}

/* The option at argv[*i]: its index, with *val its value (advancing *i
 * past a separate one); -1 when unknown, ambiguous or missing its value. */
static int next_opt(int argc, char **argv, int *i, const char **val)
{
  const char *a = argv[*i] + 2;
  size_t len = strcspn(a, "=");
  int found = -1, matches = 0;
  for(int k = 0; k < (int)(sizeof opts / sizeof *opts); k++) {
    if(strncmp(opts[k].name, a, len) != 0)
      continue;
    if(opts[k].name[len] == '\0') {   /* exact beats a prefix */
      found = k;
      matches = 1;
      break;
    }
    found = k;
    matches++;
  }
  (*i)++;
  if(matches != 1)
    return -1;
  *val = NULL;
  if(a[len] == '=') {
    if(!opts[found].has_arg)
      return -1;
    *val = a + len + 1;
  }
  else if(opts[found].has_arg) {
    if(*i >= argc)
      return -1;
    *val = argv[(*i)++];
  }
  return found;
}

/* SIGTERM/SIGINT: one byte into the self-pipe wakes poll(). */
static int g_sig_wr = -1;

static void on_signal(int sig)
{
  (void)sig;
  int saved = errno;
  ssize_t r = write(g_sig_wr, "x", 1);
  (void)r;   /* a full pipe already holds a wake-up */
  errno = saved;
}

static int setup_signals(mn_fk_server *srv)
{
  int p[2];
  if(pipe(p) != 0)
    return -1;
  if(mn_fk_fd_flags(p[0]) != 0 || mn_fk_fd_flags(p[1]) != 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  srv->sig_rd = p[0];
  g_sig_wr = p[1];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_IGN;   /* send() to a gone client: EPIPE, not death */
  sigaction(SIGPIPE, &sa, NULL);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  return 0;
}

/* poll() counts whole milliseconds: wait the whole ones there (rounded
 * down, so never late), then sleep out the rest, keeping timers well
 * under 1 ms accurate as a service time of a few ms needs. */
static int poll_timeout(double deadline)
{
  if(deadline <= 0)
    return -1;
  double ms = (deadline - mn_fk_now()) * 1000.0;
  if(ms <= 0)
    return 0;
  return ms > 3600000.0 ? 3600000 : (int)ms;
}

static void sleep_until(double deadline)
{
  double rest = deadline - mn_fk_now();
  if(deadline <= 0 || rest <= 0)
    return;
  struct timespec ts;
  ts.tv_sec = (time_t)rest;
  ts.tv_nsec = (long)((rest - (double)ts.tv_sec) * 1e9) + 1;
  if(ts.tv_nsec > 999999999L)
    ts.tv_nsec = 999999999L;
  nanosleep(&ts, NULL);   /* EINTR: a signal; the loop goes on */
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *script = NULL, *record = NULL;
  double port = 0, slots = 64, service_ms = 0, decode_ms = 0;
  double fault_stall_ms = 1000, seed = 1;
  const char *cache = NULL;
  mn_fk_server srv;
  memset(&srv, 0, sizeof srv);

  const char *stray = NULL;   /* the first operand: refused after the options */
  int i = 1;
  while(i < argc) {
    const char *arg = argv[i];
    if(strcmp(arg, "--") == 0) {
      if(!stray && i + 1 < argc)
        stray = argv[i + 1];
      break;
    }
    if(arg[0] != '-' || arg[1] == '\0') {   /* an operand ("-" too) */
      if(!stray)
        stray = arg;
      i++;
      continue;
    }
    const char *val = NULL;
    int opt = arg[1] == '-' ? next_opt(argc, argv, &i, &val) : (i++, -1);
    switch(opt) {
    case OPT_HOST: host = val; break;
    case OPT_PORT:
      if(parse_num(val, 0, 65535, &port) || port != (int)port)
        return die("--port wants 0..65535", val);
      break;
    case OPT_SLOTS:
      if(parse_num(val, 1, 1000000, &slots) || slots != (int)slots)
        return die("--slots wants an integer >= 1", val);
      break;
    case OPT_SERVICE:
      if(parse_num(val, 0, 3600000, &service_ms))
        return die("--service-ms wants 0..3600000", val);
      break;
    case OPT_SCRIPT: script = val; break;
    case OPT_RECORD: record = val; break;
    case OPT_KEY:
      if(!*val)
        return die("--require-key wants a non-empty key", NULL);
      srv.require_key = val;
      break;
    case OPT_VERBOSE: srv.verbose = 1; break;
    case OPT_PREFILL:
      if(parse_num(val, 1, 1e9, &srv.prefill_tps))
        return die("--prefill-tps wants tokens per second, 1..1e9", val);
      break;
    case OPT_DECODE:
      if(parse_num(val, 0, 60000, &decode_ms))
        return die("--decode-ms wants 0..60000 (per output token)", val);
      break;
    case OPT_SLOWDOWN:
      if(parse_num(val, 0, 100, &srv.decode_slowdown))
        return die("--decode-slowdown wants 0..100", val);
      break;
    case OPT_CACHE: cache = val; break;
    case OPT_FAULT_RATE:
      if(parse_num(val, 0, 1, &srv.fault_rate))
        return die("--fault-rate wants a probability, 0..1", val);
      break;
    case OPT_FAULTS:
      if(parse_faults(&srv, val))
        return die("--faults wants a comma-separated list of fault names "
                   "(429, 500, reset, stall, stall_mid, truncate, invalid_json, huge)", val);
      break;
    case OPT_FAULT_STALL:
      if(parse_num(val, 0, 3600000, &fault_stall_ms))
        return die("--fault-stall-ms wants 0..3600000", val);
      break;
    case OPT_SEED:
      if(parse_num(val, 0, 9007199254740992.0, &seed) || seed != (double)(uint64_t)seed)
        return die("--seed wants a whole number >= 0", val);
      break;
    case OPT_HELP: usage(stdout); return 0;
    default:
      usage(stderr);
      return die("unknown option or missing value", arg);
    }
  }
  if(stray)
    return die("unexpected argument", stray);

  if(srv.fault_rate > 0 && srv.n_fault_kinds == 0)
    parse_faults(&srv, "429,500,reset,stall,truncate");
  srv.fault_stall_s = fault_stall_ms / 1000.0;
  srv.rng = (uint64_t)seed;
  srv.slots = (int)slots;
  srv.service_s = service_ms / 1000.0;
  srv.decode_s = decode_ms / 1000.0;
  if(cache && strcmp(cache, "none") && strcmp(cache, "slot") && strcmp(cache, "global"))
    return die("--prefix-cache wants none, slot or global", cache);
  if((decode_ms > 0 || srv.decode_slowdown > 0 || cache) && srv.prefill_tps <= 0)
    return die("--decode-ms, --decode-slowdown and --prefix-cache need --prefill-tps", NULL);
  srv.prefix_cache = !cache || !strcmp(cache, "slot") ? MN_FK_CACHE_SLOT
                   : !strcmp(cache, "global") ? MN_FK_CACHE_GLOBAL : MN_FK_CACHE_NONE;
  if(srv.prefill_tps > 0) {
    srv.slot_prompt = calloc((size_t)srv.slots, sizeof *srv.slot_prompt);
    srv.slot_busy = calloc((size_t)srv.slots, sizeof *srv.slot_busy);
    if(!srv.slot_prompt || !srv.slot_busy)
      return die("out of memory for the slots", NULL);
  }
  srv.reserve_fd = -1;
  struct sockaddr_storage probe;
  socklen_t probe_len;
  if(bind_addr(host, &probe, &probe_len, 0) != 0)
    return die("--host must be a loopback address (127.0.0.1, ::1, localhost)", host);
  if(script) {
    char *err = NULL;
    srv.rules = mn_fk_rules_load(script, &err);
    if(!srv.rules) {
      fprintf(stderr, "fakellm: script %s\n", err);
      free(err);
      return 2;
    }
  }
  else
    srv.rules = mn_fk_rules_new();
  if(record) {
    srv.rec = fopen(record, "a");
    if(!srv.rec) {
      mn_fk_rules_free(srv.rules);
  for(int k = 0; srv.slot_prompt && k < srv.slots; k++)
    free(srv.slot_prompt[k]);
  free(srv.slot_prompt);
  free(srv.slot_busy);
  for(int k = 0; k < MN_FK_CACHE_ENTRIES; k++)
    free(srv.cache_ring[k]);
      return die("cannot open the record file", record);
    }
  }

  raise_nofile();
  if(setup_signals(&srv) != 0) {
    fprintf(stderr, "fakellm: cannot set up the signal pipe: %s\n", strerror(errno));
    return 2;
  }

  int real_port = 0;
  srv.lfd = listen_on(host, (int)port, &real_port);
  if(srv.lfd < 0) {
    fprintf(stderr, "fakellm: cannot listen on %s:%d: %s\n", host, (int)port,
            strerror(errno));
    mn_fk_rules_free(srv.rules);
    if(srv.rec)
      fclose(srv.rec);
    return 2;
  }
  srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

  printf("PORT %d\n", real_port);
  fflush(stdout);

  /* Each turn: poll the listener, the signal pipe and every connection
   * (POLLOUT only where output is pending) until the earliest timer's
   * deadline, handle what is ready, then fire the timers that are due. */
  while(!srv.stop) {
    if(srv.rec_dirty) {
      fflush(srv.rec);
      srv.rec_dirty = 0;
    }
    size_t nfds = mn_fk_poll_fill(&srv, 2);
    srv.pfd[0] = (struct pollfd){ .fd = srv.lfd, .events = POLLIN };
    srv.pfd[1] = (struct pollfd){ .fd = srv.sig_rd, .events = POLLIN };
    srv.pconn[0] = srv.pconn[1] = NULL;
    int timeout = poll_timeout(mn_fk_timers_next(&srv));
    int n = poll(srv.pfd, (nfds_t)nfds, timeout);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      fprintf(stderr, "fakellm: poll: %s\n", strerror(errno));
      break;
    }
    if(n == 0 && timeout == 0)
      sleep_until(mn_fk_timers_next(&srv));   /* under 1 ms, nothing to read */
    if(n > 0) {
      if(srv.pfd[1].revents) {
        char b[64];
        while(read(srv.sig_rd, b, sizeof b) > 0)
          ;
        srv.stop = 1;
      }
      if(srv.pfd[0].revents & POLLIN)
        mn_fk_accept(&srv);
      mn_fk_poll_run(&srv, 2, nfds);
    }
    mn_fk_timers_run(&srv);
    mn_fk_reap(&srv);
  }

  mn_fk_shutdown(&srv);   /* unfinished requests go to the record file too */
  if(srv.rec)
    fclose(srv.rec);
  mn_fk_record_clear(&srv);
  free(srv.ring);
  free(srv.heap);
  mn_fk_rules_free(srv.rules);
  free(srv.pfd);
  free(srv.pconn);
  close(srv.lfd);
  close(srv.sig_rd);
  if(srv.reserve_fd >= 0)
    close(srv.reserve_fd);
  return 0;
}

/* fakellm: command line, listening socket, the event loop. */
#include "fakellm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void usage(FILE *f)
{
  fputs("usage: fakellm [--host 127.0.0.1] [--port N] [--slots S] [--service-ms T]\n"
        "               [--script FILE] [--record FILE] [--require-key KEY] [--verbose]\n"
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
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if(fd < 0)
    return -1;
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

static int add_fd(int epfd, int fd, void *tag)
{
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.ptr = tag;
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *script = NULL, *record = NULL;
  double port = 0, slots = 64, service_ms = 0;
  mn_fk_server srv;
  memset(&srv, 0, sizeof srv);

  static const struct option opts[] = {
    { "host", required_argument, NULL, 'h' },
    { "port", required_argument, NULL, 'p' },
    { "slots", required_argument, NULL, 's' },
    { "service-ms", required_argument, NULL, 't' },
    { "script", required_argument, NULL, 'f' },
    { "record", required_argument, NULL, 'r' },
    { "require-key", required_argument, NULL, 'k' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'H' },
    { NULL, 0, NULL, 0 }
  };
  int ch;
  opterr = 0;
  while((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch(ch) {
    case 'h': host = optarg; break;
    case 'p':
      if(parse_num(optarg, 0, 65535, &port) || port != (int)port)
        return die("--port wants 0..65535", optarg);
      break;
    case 's':
      if(parse_num(optarg, 1, 1000000, &slots) || slots != (int)slots)
        return die("--slots wants an integer >= 1", optarg);
      break;
    case 't':
      if(parse_num(optarg, 0, 3600000, &service_ms))
        return die("--service-ms wants 0..3600000", optarg);
      break;
    case 'f': script = optarg; break;
    case 'r': record = optarg; break;
    case 'k':
      if(!*optarg)
        return die("--require-key wants a non-empty key", NULL);
      srv.require_key = optarg;
      break;
    case 'v': srv.verbose = 1; break;
    case 'H': usage(stdout); return 0;
    default:
      usage(stderr);
      return die("unknown option or missing value", argv[optind - 1]);
    }
  }
  if(optind < argc)
    return die("unexpected argument", argv[optind]);

  srv.slots = (int)slots;
  srv.service_s = service_ms / 1000.0;
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
      return die("cannot open the record file", record);
    }
  }

  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);

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
  srv.epfd = epoll_create1(EPOLL_CLOEXEC);
  srv.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  srv.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if(srv.epfd < 0 || srv.tfd < 0 || srv.sfd < 0 ||
     add_fd(srv.epfd, srv.lfd, &srv.lfd) || add_fd(srv.epfd, srv.tfd, &srv.tfd) ||
     add_fd(srv.epfd, srv.sfd, &srv.sfd)) {
    fprintf(stderr, "fakellm: cannot set up epoll: %s\n", strerror(errno));
    return 2;
  }

  printf("PORT %d\n", real_port);
  fflush(stdout);

  struct epoll_event evs[256];
  while(!srv.stop) {
    mn_fk_timers_arm(&srv);
    if(srv.rec_dirty) {
      fflush(srv.rec);
      srv.rec_dirty = 0;
    }
    int n = epoll_wait(srv.epfd, evs, 256, -1);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      fprintf(stderr, "fakellm: epoll_wait: %s\n", strerror(errno));
      break;
    }
    for(int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if(p == &srv.lfd)
        mn_fk_accept(&srv);
      else if(p == &srv.tfd)
        mn_fk_timers_run(&srv);
      else if(p == &srv.sfd) {
        struct signalfd_siginfo si;
        while(read(srv.sfd, &si, sizeof si) == (ssize_t)sizeof si)
          srv.stop = 1;
      }
      else
        mn_fk_conn_event(&srv, p, evs[i].events);
    }
    mn_fk_reap(&srv);
  }

  mn_fk_shutdown(&srv);   /* unfinished requests go to the record file too */
  if(srv.rec)
    fclose(srv.rec);
  mn_fk_record_clear(&srv);
  free(srv.ring);
  free(srv.heap);
  mn_fk_rules_free(srv.rules);
  close(srv.lfd);
  close(srv.epfd);
  close(srv.tfd);
  close(srv.sfd);
  if(srv.reserve_fd >= 0)
    close(srv.reserve_fd);
  return 0;
}

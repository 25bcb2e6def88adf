/* Confining the helper before the program runs: resource limits (POSIX)
 * and, on Linux, a seccomp filter (libseccomp) that lets the process read
 * its request socket, write its reply, manage memory, read the clock and
 * end itself; every other system call fails with EPERM. So code that got
 * out of the Lua layer can open no file, start no process, make no socket
 * and signal no other process; the environment it was started with is
 * empty (isolate.c), and its memory holds nothing but the request.
 *
 * The address-space limit is what bounds C memory the allocator cannot
 * see (Lua's own structures around the heap, copies in the C library);
 * it is left out under AddressSanitizer, whose shadow memory needs the
 * whole address space.
 *
 * /proc and /dev/fd are Linux and BSD interfaces; where they are missing
 * the fallbacks below do the same job more slowly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox/helper/helper.h"

#ifdef __linux__
#include <seccomp.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define MN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MN_ASAN 1
#endif
#endif

#define SLACK_BYTES ((size_t)96 << 20)   /* code, stacks, the C library */
#define MAX_FDS_SCANNED 4096

void mn_sbh_close_extra_fds(void)
{
  int fds[256];
  /* in batches: closing while reading the directory could skip entries */
  for(;;) {
    DIR *d = opendir("/proc/self/fd");
    if(!d)
      d = opendir("/dev/fd");
    if(!d)
      break;
    size_t n = 0;
    int more = 0;
    struct dirent *e;
    while((e = readdir(d)) != NULL) {
      int fd = atoi(e->d_name);
      if(fd <= 2 || fd == dirfd(d))
        continue;
      if(n == sizeof fds / sizeof fds[0]) {
        more = 1;
        break;
      }
      fds[n++] = fd;
    }
    closedir(d);
    for(size_t i = 0; i < n; i++)
      close(fds[i]);
    if(!more)
      return;
  }
  for(int fd = 3; fd < MAX_FDS_SCANNED; fd++)   /* no directory to read */
    close(fd);
}

static int limit(int resource, rlim_t value)
{
  struct rlimit rl;
  if(getrlimit(resource, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < value)
    value = rl.rlim_max;   /* never ask to raise a hard limit */
  rl.rlim_cur = rl.rlim_max = value;
  return setrlimit(resource, &rl);
}

#ifndef MN_ASAN
/* Bytes of address space in use now, or 0 when that cannot be told. */
static size_t address_space_now(void)
{
  size_t pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if(f) {
    if(fscanf(f, "%zu", &pages) != 1)
      pages = 0;
    fclose(f);
  }
  long page = sysconf(_SC_PAGESIZE);
  return pages * (size_t)(page > 0 ? page : 4096);
}
#endif

#ifdef __linux__
/* Allow syscall nr when its first argument is `arg0` (libseccomp's SCMP_A0
 * leaves a field to the compiler's zeroing, which clang warns about). */
static int allow_if_arg0(scmp_filter_ctx ctx, int nr, scmp_datum_t arg0)
{
  struct scmp_arg_cmp cmp = { .arg = 0, .op = SCMP_CMP_EQ, .datum_a = arg0, .datum_b = 0 };
  return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

static int seccomp_confine(void)
{
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if(!ctx)
    return -1;
  int rc = 0;
  /* the request and the reply */
  rc |= allow_if_arg0(ctx, SCMP_SYS(read), 0);
  rc |= allow_if_arg0(ctx, SCMP_SYS(write), 1);
  rc |= allow_if_arg0(ctx, SCMP_SYS(sendto), 1);
#ifdef MN_SANITIZE_BUILD
  /* a sanitizer build reports on stderr (isolate.c passes it through), and
   * ASan looks at the signal stack on every longjmp (Lua's errors) */
  rc |= allow_if_arg0(ctx, SCMP_SYS(write), 2);
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack), 0);
#endif
  /* abort() signals its own process only */
  scmp_datum_t self = (scmp_datum_t)getpid();
  rc |= allow_if_arg0(ctx, SCMP_SYS(kill), self);
  rc |= allow_if_arg0(ctx, SCMP_SYS(tgkill), self);
  static const int needed[] = {
    SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
    SCMP_SYS(mprotect), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(futex),
    SCMP_SYS(close),
  };
  for(size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, needed[i], 0);
  /* not on every architecture: a failure to add is no failure */
  static const int optional[] = { SCMP_SYS(time), SCMP_SYS(clock_gettime64), SCMP_SYS(mmap2) };
  for(size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, optional[i], 0);
  if(rc == 0)
    rc = seccomp_load(ctx);   /* also sets no_new_privs */
  seccomp_release(ctx);
  return rc == 0 ? 0 : -1;
}
#endif

int mn_sbh_confine(size_t memory_bytes, long wall_ms, size_t input_bytes)
{
  int rc = 0;
#ifndef MN_ASAN
  size_t now = address_space_now();
  if(now) {
    /* the heap budget, the inputs Lua copies in (outside the budget, as
     * in sandbox.h) and room for everything else */
    size_t room = memory_bytes + memory_bytes / 4 + input_bytes + SLACK_BYTES;
    rc |= limit(RLIMIT_AS, (rlim_t)(now + room));
  }
#endif
  /* CPU seconds: SIGXCPU a little past the wall budget, SIGKILL a second
   * later (the library kills it at the wall deadline anyway) */
  struct rlimit rl;
  rlim_t cpu = (rlim_t)(wall_ms > 0 ? wall_ms / 1000 + 2 : 2);
  if(getrlimit(RLIMIT_CPU, &rl) == 0) {
    rlim_t hard = cpu + 1;
    if(rl.rlim_max != RLIM_INFINITY && rl.rlim_max < hard)
      hard = rl.rlim_max;
    rl.rlim_cur = cpu < hard ? cpu : hard;
    rl.rlim_max = hard;
    rc |= setrlimit(RLIMIT_CPU, &rl);
  }
  rc |= limit(RLIMIT_CORE, 0);
  rc |= limit(RLIMIT_FSIZE, 0);
  rc |= limit(RLIMIT_NOFILE, 3);
#ifdef RLIMIT_NPROC
  limit(RLIMIT_NPROC, 0);   /* ignored for root; seccomp covers that */
#endif
#ifdef __linux__
  if(rc == 0)
    rc = seccomp_confine();
#endif
  return rc == 0 ? 0 : -1;
}

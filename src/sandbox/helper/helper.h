/* The sandbox helper program, minions-sandbox: the process each sandboxed
 * call runs in (see sandbox/isolate.h for the library's side). */
#ifndef MN_SANDBOX_HELPER_H
#define MN_SANDBOX_HELPER_H

#include <stddef.h>

/* Exit codes when there is no reply to send (isolate.c tells them apart). */
enum { MN_SBH_EXIT_REQUEST = 3, MN_SBH_EXIT_CONFINE = 4 };

/* Read one request on fd 0, confine, run it, reply on fd 1. Returns the
 * exit code. */
int mn_sbh_serve(void);

/* Close every descriptor above 2 (whatever the parent let through). */
void mn_sbh_close_extra_fds(void);

/* Confine this process for running a program with a heap budget of
 * memory_bytes and a wall budget of wall_ms, after input_bytes of input
 * were read: rlimits everywhere, a seccomp filter on Linux. 0, or -1 when
 * a step failed (the caller must not run the program then). */
int mn_sbh_confine(size_t memory_bytes, long wall_ms, size_t input_bytes);

#endif

/* The run's progress on stderr: a live status line on a terminal, trace
 * lines with --verbose, warnings unless --quiet (progress.c). */
#ifndef MN_CLI_PROGRESS_H
#define MN_CLI_PROGRESS_H

#include <pthread.h>
#include <stddef.h>

#include "minions.h"

typedef struct cli_progress {
  int line;                 /* draw the status line (stderr is a terminal) */
  int trace;                /* protocol trace lines */
  int verbose;              /* trace lines show whole messages */
  int quiet;                /* not even warnings */
  pthread_mutex_t mu;
  pthread_t thread;
  int has_thread, stopped, drawn;
  double t0, t_jobs0;
  int round;
  size_t done, total;
  mn_usage remote, local;
  double cost;              /* < 0: unknown */
  char waiting[64];         /* "the remote model (code)" */
} cli_progress;

void cli_progress_start(cli_progress *p, int line, int trace, int verbose, int quiet);
/* The mn_event_cb: pass the cli_progress as the user data. */
void cli_progress_event(const mn_event *ev, void *ud);
/* Erase the status line and stop the redrawing; output may follow. */
void cli_progress_stop(cli_progress *p);

#endif

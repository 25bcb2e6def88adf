/* Helpers shared by the unit tests. */
#ifndef MN_TESTUTIL_H
#define MN_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* A fakellm server started for a test. */
typedef struct mn_fake {
  pid_t pid;
  int port;
  char url[64];        /* "http://127.0.0.1:PORT" */
} mn_fake;

/* Start $MN_FAKELLM with extra arguments (NULL-terminated list, e.g.
 * "--slots", "4", NULL) on a free port; waits until it listens. Returns 0. */
int mn_fake_start(mn_fake *f, const char *const *args);
/* SIGTERM and reap. */
void mn_fake_stop(mn_fake *f);

/* A fresh temporary directory (mkdtemp); caller frees the string. */
char *mn_test_tmpdir(void);
/* Write a whole file; 0 on success. */
int mn_test_write_file(const char *path, const char *data, size_t len);
/* Read a whole file (NUL-terminated, caller frees), NULL if unreadable. */
char *mn_test_read_file(const char *path, size_t *len_out);

#endif

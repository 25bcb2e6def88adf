/* The command-line tool: a thin client of the public API (minions.h). */
#ifndef MN_CLI_H
#define MN_CLI_H

#include <stddef.h>

#include "minions.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };

/* Print "minions: <message>" on stderr (one line). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Command-line reading shared by the commands: "--flag value", "--flag=value",
 * and flags taking several values ("--context a b c"). */
typedef struct cli_args {
  int argc;
  char **argv;
  int i;            /* next argument to read */
  const char *inline_value; /* value after '=' of the current flag */
} cli_args;

/* The next flag name (without a value part), or NULL at the end. Sets
 * *positional when the argument does not start with "--". */
const char *cli_next(cli_args *a, int *positional);
/* The value of the current flag; NULL (and an error printed) if missing. */
const char *cli_value(cli_args *a, const char *flag);
/* Parse an integer value in [lo, hi]; -1 with an error printed if invalid. */
int cli_int(const char *flag, const char *value, long lo, long hi, long *out);
int cli_double(const char *flag, const char *value, double lo, double hi, double *out);
/* A value from a closed set, by the library's parse function (mn_*_parse);
 * -1 with an error naming `choices` if unknown. */
int cli_choice(const char *flag, const char *value, int (*parse)(const char *),
               const char *choices, int *out);
/* All values after a multi-value flag, up to the next "--" argument. */
int cli_values(cli_args *a, const char *flag, const char ***list, size_t *n);

/* The options run and eval share (models, URLs, prices, timeouts and the
 * protocols' tuning) into o; --local-url values are collected in *urls
 * (realloc'd, caller frees). 1: read, 0: not one of them, -1: bad value
 * (error printed). */
int cli_run_option(cli_args *a, const char *flag, mn_run_opts *o, const char ***urls,
                   size_t *n_urls);

/* A fresh document set from paths ("-": standard input) and inline texts
 * (named "text 1", ...); NULL (error printed) on failure. */
mn_docs *cli_load_docs(const char *const *paths, size_t n, const char *const *texts,
                       size_t n_texts);

/* Call handler on SIGINT and SIGTERM, once: a second Ctrl-C ends the
 * program at once (the handler should only cancel, which is signal-safe). */
void cli_on_interrupt(void (*handler)(int));

int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* minions chunks (retrieve = 0) and minions retrieve (retrieve = 1) */
int cmd_chunks(int argc, char **argv, int retrieve);

#endif

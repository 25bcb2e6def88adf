/* minions: the command-line tool. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *out)
{
  fputs(
"usage: minions COMMAND [OPTIONS]\n"
"\n"
"A small model next to the data reads the documents; a frontier model in the\n"
"cloud directs it. Only the local model sees the documents whole.\n"
"\n"
"Commands:\n"
"  run       answer one task about documents with a protocol\n"
"  chat      answer follow-up questions (stdin, one per line) with Minion\n"
"  eval      accuracy and cost of protocols on a question-answer dataset\n"
"  serve     an OpenAI-compatible API over the protocols\n"
"  chunks    show how documents are cut into chunks\n"
"  retrieve  show the chunks that best match a query (BM25)\n"
"\n"
"  minions COMMAND --help   options of a command\n"
"  minions --version        version\n", out);
}

int main(int argc, char **argv)
{
  if(argc < 2) {
    usage(stderr);
    return CLI_USAGE;
  }
  const char *cmd = argv[1];
  if(!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage(stdout);
    return CLI_OK;
  }
  if(!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("minions %s\n", mn_version());
    return CLI_OK;
  }
  if(mn_global_init() != MN_OK) {
    cli_error("cannot initialise libcurl");
    return CLI_FAIL;
  }
  int rc;
  if(!strcmp(cmd, "run")) {
    rc = cmd_run(argc - 2, argv + 2);
  } else if(!strcmp(cmd, "chat")) {
    rc = cmd_chat(argc - 2, argv + 2);
  } else if(!strcmp(cmd, "serve")) {
    rc = cmd_serve(argc - 2, argv + 2);
  } else if(!strcmp(cmd, "eval")) {
    rc = cmd_eval(argc - 2, argv + 2);
  } else if(!strcmp(cmd, "chunks") || !strcmp(cmd, "retrieve")) {
    rc = cmd_chunks(argc - 2, argv + 2, !strcmp(cmd, "retrieve"));
  } else {
    cli_error("unknown command '%s' (try 'minions --help')", cmd);
    rc = CLI_USAGE;
  }
  mn_global_cleanup();
  return rc;
}

/* The privacy shield's name finding: names taken from the local model's
 * reply (hallucinated ones dropped), and asked of a fake local model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "minions.h"
#include "protocol/privacy.h"
#include "protocol/run_internal.h"
#include "testutil.h"
#include "util/mem.h"

/* redact `in` with p and compare with `want` */
static void redacts_to(mn_privacy *p, const char *in, const char *want)
{
  char *got = mn_privacy_redact(p, in);
  if(strcmp(got, want))
    fprintf(stderr, "in:   %s\ngot:  %s\nwant: %s\n", in, got, want);
  assert_string_equal(got, want);
  free(got);
}

static void take_names_from_reply(void **state)
{
  mn_privacy *p = mn_privacy_new();
  const char *text = "Maria Gonzalez was seen by Dr. Alan Grant; Gonzalez, Maria signed.";
  json_t *reply = json_pack("{s:[s,s,s,i,s,s,s]}", "names", "Maria Gonzalez", "Nobody Here",
                            "Dr. Alan Grant", 42, "maria  gonzalez", "Gonzalez, Maria",
                            "the patient");
  assert_int_equal(mn_privacy_take_names(p, reply, text), 2);   /* hallucination dropped */
  assert_int_equal(mn_privacy_name_count(p), 2);
  json_decref(reply);
  reply = json_pack("{s:s}", "names", "Maria Gonzalez");
  assert_int_equal(mn_privacy_take_names(p, reply, text), 0);   /* known already */
  json_decref(reply);
  reply = json_pack("{s:n}", "names");
  assert_int_equal(mn_privacy_take_names(p, reply, text), 0);
  json_decref(reply);
  redacts_to(p, text, "[PERSON_1] was seen by Dr. [PERSON_2]; [PERSON_1] signed.");
  mn_privacy_free(p);
}

/* ---- asking the local model (fakellm) ------------------------------------------ */

typedef struct fake_run {
  mn_fake fake;
  char *dir, *script, *record;
  mn_run *run;
} fake_run;

/* One fake per test, stopped by the teardown even when the test fails. */
static fake_run g_fr;

static int fake_run_start(fake_run *fr, const char *script_json)
{
  memset(fr, 0, sizeof *fr);
  if(!getenv("MN_FAKELLM"))
    return -1;
  fr->dir = mn_test_tmpdir();
  fr->script = mn_xasprintf("%s/script.json", fr->dir);
  fr->record = mn_xasprintf("%s/requests.jsonl", fr->dir);
  assert_int_equal(mn_test_write_file(fr->script, script_json, strlen(script_json)), 0);
  const char *args[] = { "--script", fr->script, "--record", fr->record, NULL };
  assert_int_equal(mn_fake_start(&fr->fake, args), 0);
  mn_run_opts o = MN_RUN_OPTS_INIT;
  const char *urls[] = { fr->fake.url };
  o.protocol = MN_PROTOCOL_MINION;
  o.task = "unused";
  o.local_spec = "openai-compatible:fake";
  o.remote_spec = "openai-compatible:fake";
  o.local_urls = urls;
  o.n_local_urls = 1;
  o.remote_url = fr->fake.url;
  o.max_retries = 0;
  o.request_timeout_ms = 10000;
  int rc = mn_run_new(&fr->run, &o);
  if(rc)
    fprintf(stderr, "mn_run_new: %s\n", fr->run ? mn_run_errmsg(fr->run) : "?");
  assert_int_equal(rc, MN_OK);
  return 0;
}

static int fake_run_stop(void **state)
{
  fake_run *fr = &g_fr;
  if(!fr->dir)
    return 0;
  mn_run_free(fr->run);
  mn_fake_stop(&fr->fake);
  unlink(fr->script);
  unlink(fr->record);
  rmdir(fr->dir);
  free(fr->script);
  free(fr->record);
  free(fr->dir);
  memset(fr, 0, sizeof *fr);
  return 0;
}

/* Recorded requests containing `needle`, once at least `want` are there
 * (the fake writes a record just after it replies) or 2 s have passed. */
static size_t count_lines_with(const char *path, const char *needle, size_t want)
{
  size_t k = 0;
  for(int tries = 0; tries < 40 && k < want; tries++) {
    if(tries)
      nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
    char *s = mn_test_read_file(path, NULL);
    k = 0;
    for(char *line = s; line && *line;) {
      char *nl = strchr(line, '\n');
      if(nl)
        *nl = '\0';
      k += strstr(line, needle) != NULL;
      line = nl ? nl + 1 : line + strlen(line);
    }
    free(s);
  }
  return k;
}

static void find_names_with_local_model(void **state)
{
  fake_run *fr = &g_fr;
  if(fake_run_start(fr,
       "{\"rules\": [{\"when\": {\"contains\": \"List the name of every person\", \"json\": true},"
       " \"reply\": \"{\\\"names\\\": [\\\"Eleanor Vance-Whitaker\\\", \\\"Thomas Whitaker\\\","
       " \\\"Invented Person\\\"]}\"}]}"))
    skip();
  mn_privacy *p = mn_privacy_new();
  const char *text = "What did Eleanor Vance-Whitaker's husband Thomas Whitaker report?";
  char *red = NULL;
  assert_int_equal(mn_privacy_protect(p, fr->run, text, &red), MN_OK);
  assert_string_equal(red, "What did [PERSON_1]'s husband [PERSON_2] report?");
  assert_int_equal(mn_privacy_name_count(p), 2);   /* "Invented Person" is not in the text */
  free(red);
  /* the request went to the local model, in JSON mode, with the text */
  assert_int_equal(count_lines_with(fr->record, "Thomas Whitaker report?", 1), 1);
  assert_int_equal(count_lines_with(fr->record, "\"person_names\"", 1), 1);   /* the schema */
  mn_usage remote, local;
  mn_run_usage(fr->run, &remote, &local);
  assert_int_equal(local.calls, 1);
  assert_int_equal(remote.calls, 0);

  /* a long text goes in pieces; blank text costs no request */
  size_t n = 3 * MN_PRIVACY_FIND_CHUNK;
  char *big = mn_xmalloc(n + 1);
  for(size_t i = 0; i < n; i++)
    big[i] = (i % 80 == 79) ? '\n' : 'x';
  big[n] = '\0';
  assert_int_equal(mn_privacy_find_names(p, fr->run, big), MN_OK);
  assert_int_equal(mn_privacy_find_names(p, fr->run, " \n\t "), MN_OK);
  mn_run_usage(fr->run, &remote, &local);
  assert_true(local.calls >= 4 && local.calls <= 5);
  free(big);
  mn_privacy_free(p);
}

static void find_names_fails_closed(void **state)
{
  fake_run *fr = &g_fr;
  if(fake_run_start(fr, "{\"rules\": [{\"reply\": \"I'd rather not say.\"}]}"))
    skip();
  mn_privacy *p = mn_privacy_new();
  char *red = (char *)"untouched";
  int rc = mn_privacy_protect(p, fr->run, "Ask Eleanor about it.", &red);
  assert_int_equal(rc, MN_EMODEL);
  assert_null(red);   /* nothing to send */
  assert_non_null(strstr(mn_run_errmsg(fr->run), "JSON"));
  mn_privacy_free(p);
}

int main(void)
{
  mn_global_init();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(take_names_from_reply),
    cmocka_unit_test_teardown(find_names_with_local_model, fake_run_stop),
    cmocka_unit_test_teardown(find_names_fails_closed, fake_run_stop),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  mn_global_cleanup();
  return rc;
}

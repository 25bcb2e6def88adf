/* The run log: members spilled to the temporary file come back in the
 * written file exactly where and as they would have been in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "run/runlog.h"
#include "util/mem.h"

/* A MinionS-shaped round: manifests with awkward strings, outputs. */
static json_t *manifests(int round)
{
  json_t *a = json_array();
  for(int i = 0; i < 300; i++)
    json_array_append_new(a, json_pack("{s:i, s:i, s:s, s:o, s:s, s:I}", "job_id", i,
      "task_id", round, "task", "Quote the \"capex\" figure\n(if any) \\ caf\xc3\xa9",
      "advice", i % 2 ? json_null() : json_string("tabs\tand / slashes"),
      "chunk", "Net cash used in investing activities\f page 3 \xe2\x82\xac",
      "chunk_bytes", (json_int_t)(1000 + i)));
  return a;
}

static json_t *outputs(void)
{
  json_t *a = json_array();
  for(int i = 0; i < 300; i++)
    json_array_append_new(a, json_pack("{s:i, s:s, s:o, s:f}", "job_id", i, "status",
      i % 7 ? "abstained" : "answered", "answer", i % 7 ? json_null() : json_string("$1,577"),
      "score", i / 3.0));
  return a;
}

static mn_runlog *make_log(int spill, json_t **first_turn)
{
  mn_runlog *log = mn_runlog_new("minions", "What was capex?", NULL, "fake-local", "fake-remote");
  mn_runlog_set_spill(log, spill);
  mn_runlog_add_document(log, "a.txt", 1234);
  mn_runlog_turn(log, "remote", "advice prompt", "advice");
  for(int round = 0; round < 3; round++) {
    json_t *t = mn_runlog_turn(log, "local", NULL, NULL);
    if(round == 0)
      *first_turn = t;
    mn_runlog_turn_set_spilled(log, t, "job_manifests", manifests(round));
    mn_runlog_turn_set_spilled(log, t, "job_outputs", outputs());
    json_object_set_new(t, "after", json_string("a member set after the spilled ones"));
    mn_runlog_turn(log, "remote", "synthesis\nprompt", "{\"decision\": \"x\"}");
  }
  mn_usage u = { 10, 20, 5, 3, 0 };
  mn_timing tm = { 1.5, 2.25, 4.0, 0.25 };
  mn_runlog_finish(log, "the answer", 3, &u, &u, &tm, 0.125, NULL);
  return log;
}

static char *read_all(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = mn_xmalloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return s;
}

static void spilled_members_are_written_in_place(void **state)
{
  char dir[] = "/tmp/mn-test-runlog-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *pa = mn_xasprintf("%s/spilled.json", dir), *pb = mn_xasprintf("%s/memory.json", dir);
  char *err = NULL;

  json_t *t_mem = NULL, *t_sp = NULL;
  mn_runlog *mem = make_log(0, &t_mem);
  mn_runlog *sp = make_log(1, &t_sp);
  /* the spilled log holds nulls where the other holds the rounds */
  assert_int_equal(mn_runlog_spilled_bytes(mem), 0);
  assert_true(mn_runlog_spilled_bytes(sp) > 100000);
  assert_true(json_is_null(json_object_get(t_sp, "job_manifests")));
  assert_true(json_is_array(json_object_get(t_mem, "job_manifests")));

  assert_int_equal(mn_runlog_write(sp, pa, &err), 0);
  assert_int_equal(mn_runlog_write(mem, pb, &err), 0);
  size_t la, lb;
  char *a = read_all(pa, &la), *b = read_all(pb, &lb);
  /* byte for byte what jansson's indented dump of the whole tree gives */
  char *want = json_dumps(mn_runlog_json(mem), JSON_INDENT(2));
  assert_int_equal(lb, strlen(want));
  assert_memory_equal(b, want, lb);
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la);

  /* read back into memory (a chat session keeps it): the same tree */
  assert_true(json_equal(mn_runlog_json(sp), mn_runlog_json(mem)));
  assert_int_equal(mn_runlog_spilled_bytes(sp), 0);
  assert_true(json_is_array(json_object_get(t_sp, "job_manifests")));

  free(want);
  free(a);
  free(b);
  mn_runlog_free(mem);
  mn_runlog_free(sp);
  unlink(pa);
  unlink(pb);
  rmdir(dir);
  free(pa);
  free(pb);
}

static void unwritable_path_is_an_error(void **state)
{
  json_t *t = NULL;
  mn_runlog *log = make_log(1, &t);
  char *err = NULL;
  assert_int_equal(mn_runlog_write(log, "/proc/self/no/such/dir/log.json", &err), MN_EIO);
  assert_non_null(err);
  assert_null(strchr(err, '\n'));
  free(err);
  mn_runlog_free(log);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(spilled_members_are_written_in_place),
    cmocka_unit_test(unwritable_path_is_an_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Datasets: the shared FinanceBench sample as is, the generic form, and
 * clear errors naming the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/dataset.h"
#include "minions.h"
#include "util/mem.h"

static char *write_file(const char *dir, const char *name, const char *text)
{
  char *p = mn_xasprintf("%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static void financebench_sample_reads_as_is(void **state)
{
  const char *shared = getenv("MN_SHARED_DIR");
  assert_non_null(shared);
  char *path = mn_xasprintf("%s/data/financebench/questions.jsonl", shared);
  mn_eval_dataset d;
  char *err = NULL;
  int rc = mn_eval_dataset_load(path, NULL, &d, &err);
  if(rc)
    fail_msg("%s", err);
  assert_int_equal(d.n, 59);
  assert_string_equal(d.items[0].id, "financebench_id_03029");
  assert_string_equal(d.items[0].gold, "$1577.00");
  assert_non_null(strstr(d.items[0].question, "capital expenditure"));
  assert_int_equal(d.items[0].n_paths, 1);
  char *want = mn_xasprintf("%s/data/financebench/pdfs/3M_2018_10K.pdf", shared);
  assert_string_equal(d.items[0].paths[0], want);
  for(size_t i = 0; i < d.n; i++)
    if(access(d.items[i].paths[0], R_OK) != 0)
      fail_msg("question %s names a missing document %s", d.items[i].id, d.items[i].paths[0]);
  free(want);
  mn_eval_dataset_free(&d);
  free(path);
}

static void generic_form(void **state)
{
  char dir[] = "/tmp/mn-ds-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *doc = write_file(dir, "doc.txt", "The code is 42.\n");
  char *ds = write_file(dir, "q.jsonl",
    "{\"id\": \"a\", \"question\": \"What is the code?\", \"answer\": \"42\", \"context\": \"doc.txt\"}\n"
    "\n"
    "{\"question\": \"Inline?\", \"answer\": 7, \"context\": [\"Seven is the number.\", {\"text\": \"doc.txt\"}, {\"path\": \"doc.txt\"}]}\n");
  mn_eval_dataset d;
  char *err = NULL;
  assert_int_equal(mn_eval_dataset_load(ds, NULL, &d, &err), MN_OK);
  assert_int_equal(d.n, 2);
  assert_string_equal(d.items[0].id, "a");
  assert_int_equal(d.items[0].n_paths, 1);
  assert_string_equal(d.items[0].paths[0], doc);
  assert_string_equal(d.items[1].id, "line-3");
  assert_string_equal(d.items[1].gold, "7");
  assert_int_equal(d.items[1].n_texts, 2);
  assert_string_equal(d.items[1].texts[0], "Seven is the number.");
  assert_string_equal(d.items[1].texts[1], "doc.txt");   /* {"text"} is text */
  assert_int_equal(d.items[1].n_paths, 1);
  mn_eval_dataset_free(&d);

  static const struct { const char *text, *want; int rc; } bad[] = {
    { "{\"question\": \"q\", \"answer\": \"a\", \"context\": \"x\"}\n{\"question\": \"q\"}\n",
      "q.jsonl:2: \"answer\" (the gold answer) must be", MN_EPARSE },
    { "{\"question\": \"q\", \"answer\": \"a\", \"context\": \"x\"}\nnot json\n",
      "q.jsonl:2: not JSON", MN_EPARSE },
    { "{\"id\": 1, \"question\": \"q\", \"answer\": \"a\", \"context\": \"x\"}\n"
      "{\"id\": 1, \"question\": \"q\", \"answer\": \"a\", \"context\": \"x\"}\n",
      "q.jsonl:2: id \"1\" is already used on line 1", MN_EPARSE },
    { "{\"question\": \"q\", \"answer\": \"a\"}\n", "q.jsonl:1: no documents", MN_EPARSE },
    { "{\"question\": \"q\", \"answer\": \"a\", \"doc_name\": \"../etc/passwd\"}\n",
      "must be a file name", MN_EPARSE },
    { "\n\n", "no questions", MN_EPARSE },
  };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    free(ds);
    ds = write_file(dir, "q.jsonl", bad[i].text);
    err = NULL;
    assert_int_equal(mn_eval_dataset_load(ds, NULL, &d, &err), bad[i].rc);
    if(!strstr(err, bad[i].want))
      fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].want);
    assert_null(strchr(err, '\n'));
    assert_int_equal(d.n, 0);
    free(err);
  }
  err = NULL;
  assert_int_equal(mn_eval_dataset_load("/nonexistent/q.jsonl", NULL, &d, &err), MN_ENOTFOUND);
  free(err);
  unlink(ds);
  unlink(doc);
  rmdir(dir);
  free(ds);
  free(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(financebench_sample_reads_as_is),
    cmocka_unit_test(generic_form),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

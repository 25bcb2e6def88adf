/* MinionS jobs: ids, samples, worker outputs, the listing the remote reads,
 * the run log's manifests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "protocol/jobs.h"
#include "util/json.h"
#include "util/json_lenient.h"
#include "util/mem.h"

static void add(mn_job_list *l, const char *task, const char *chunk)
{
  mn_jobs_add(l, mn_xstrdup(task), NULL, mn_xstrdup(chunk), strlen(chunk));
}

static void ids_follow_texts(void **state)
{
  mn_job_list l = { 0 };
  add(&l, "find revenue", "chunk A");
  add(&l, "find revenue", "chunk B");
  add(&l, "find capex", "chunk A");
  add(&l, "find capex", "chunk B");
  add(&l, "find revenue", "chunk C");
  mn_jobs_number(&l);
  int want_task[] = { 0, 0, 1, 1, 0 }, want_chunk[] = { 0, 1, 0, 1, 2 };
  for(int i = 0; i < 5; i++) {
    assert_int_equal(l.v[i].job_id, i);
    assert_int_equal(l.v[i].task_id, want_task[i]);
    assert_int_equal(l.v[i].chunk_id, want_chunk[i]);
  }
  mn_jobs_free(&l);
}

static void samples_repeat_jobs(void **state)
{
  mn_job_list l = { 0 };
  add(&l, "t", "one");
  add(&l, "t", "two");
  mn_jobs_number(&l);
  mn_jobs_expand_samples(&l, 3);
  assert_int_equal(l.n, 6);
  for(size_t i = 0; i < 6; i++) {
    assert_int_equal(l.v[i].job_id, (int)i);
    assert_int_equal(l.v[i].sample, (int)(i % 3));
    assert_int_equal(l.v[i].chunk_id, (int)(i / 3));
    assert_string_equal(l.v[i].chunk, i < 3 ? "one" : "two");
  }
  mn_jobs_free(&l);
}

static void outputs_and_abstentions(void **state)
{
  const char *replies[] = {
    "{\"explanation\":\"e\",\"citation\":\"c\",\"answer\":\"$1,577 million\"}",
    "{\"explanation\":\"nothing\",\"citation\":null,\"answer\":null}",
    "{\"explanation\":\"x\",\"citation\":null,\"answer\":\"  None. \"}",
    "{\"explanation\":\"x\",\"citation\":null,\"answer\":\"\"}",
    "{\"explanation\":\"x\",\"citation\":null,\"answer\":42}",
    "{\"explanation\":\"x\",\"answer\":\"N/A\"}",
  };
  mn_job_status want[] = { MN_JOB_ANSWERED, MN_JOB_ABSTAINED, MN_JOB_ABSTAINED,
                           MN_JOB_ABSTAINED, MN_JOB_ANSWERED, MN_JOB_ABSTAINED };
  for(size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
    mn_job j = { 0 };
    json_t *o = mn_json_parse_lenient(replies[i], strlen(replies[i]), NULL);
    assert_non_null(o);
    mn_job_set_output(&j, o);
    assert_int_equal(j.status, want[i]);
    if(i == 4)
      assert_string_equal(j.answer, "42");
    json_decref(o);
    free(j.answer);
    free(j.explanation);
    free(j.citation);
  }
}

static void listing_groups_by_task_then_chunk(void **state)
{
  mn_job_list l = { 0 };
  add(&l, "task B", "c1");   /* task 0 */
  add(&l, "task A", "c2");   /* task 1 */
  add(&l, "task B", "c2");
  add(&l, "task A", "c1");
  mn_jobs_number(&l);
  const char *answers[] = { "b-c1", NULL, "b-c2", "a-c1" };
  for(size_t i = 0; i < l.n; i++) {
    l.v[i].status = answers[i] ? MN_JOB_ANSWERED : MN_JOB_ABSTAINED;
    l.v[i].answer = answers[i] ? mn_xstrdup(answers[i]) : NULL;
  }
  l.v[3].citation = mn_xstrdup("quoted words");
  char *s = mn_jobs_format_outputs(&l);
  const char *b = strstr(s, "## Instruction 1: task B");
  const char *a = strstr(s, "## Instruction 2: task A");
  assert_non_null(b);
  assert_non_null(a);
  assert_true(b < a);
  /* within task B: chunk 0 before chunk 1 */
  assert_true(strstr(s, "answer: b-c1") < strstr(s, "answer: b-c2"));
  assert_true(strstr(s, "answer: b-c2") < a);
  assert_non_null(strstr(s, "(2 jobs run, 1 with an answer, 0 failed)"));
  assert_non_null(strstr(s, "citation: quoted words"));
  assert_null(strstr(s, "chunk 1, job 1"));   /* the abstention is dropped */
  free(s);

  json_t *m = mn_jobs_manifests_json(&l);
  json_t *o = mn_jobs_outputs_json(&l);
  assert_int_equal(json_array_size(m), 4);
  assert_string_equal(mn_json_path_str(m, "2.task"), "task B");
  assert_int_equal(json_integer_value(mn_json_path(m, "2.chunk_id")), 1);
  assert_string_equal(mn_json_path_str(o, "1.status"), "abstained");
  assert_true(json_is_null(mn_json_path(o, "1.answer")));
  json_decref(m);
  json_decref(o);
  mn_jobs_free(&l);
}

static void manifest_chunk_preview_is_valid_utf8(void **state)
{
  /* 600 two-byte characters: the 500-byte preview must not end mid-character */
  char chunk[1201];
  for(int i = 0; i < 600; i++) {
    chunk[2 * i] = (char)0xC3;
    chunk[2 * i + 1] = (char)0xA9;
  }
  chunk[1200] = '\0';
  mn_job_list l = { 0 };
  add(&l, "t", chunk);
  mn_jobs_number(&l);
  json_t *m = mn_jobs_manifests_json(&l);
  const char *preview = mn_json_path_str(m, "0.chunk");
  assert_non_null(preview);
  assert_true(strlen(preview) <= 500 && strlen(preview) % 2 == 0);
  assert_int_equal(json_integer_value(mn_json_path(m, "0.chunk_bytes")), 1200);
  json_decref(m);
  mn_jobs_free(&l);
}

/* Is p inside the text of one of the documents? */
static int in_docs(const mn_docs *docs, const char *p, size_t len)
{
  for(size_t d = 0; d < mn_docs_count(docs); d++) {
    size_t n;
    const char *t = mn_docs_text(docs, d, &n);
    if(p >= t && p + len <= t + n)
      return 1;
  }
  return 0;
}

static void shared_chunks_point_into_the_documents(void **state)
{
  mn_docs *docs;
  assert_int_equal(mn_docs_new(&docs), MN_OK);
  const char *a = "Alpha one. Alpha two.\n\nAlpha three.", *b = "Beta one. Beta two.";
  mn_docs_add_text(docs, "a.txt", a, strlen(a));
  mn_docs_add_text(docs, "b.txt", b, strlen(b));
  /* in order, the next task on the same chunks, out of order, a chunk
   * written by the program, one across two documents, an empty one */
  const char *chunks[] = { "Alpha one.", "Alpha two.", "Alpha three.", "Beta one. Beta two.",
                           "Alpha one.", "Beta two.", "Alpha two.", "Gamma, made up",
                           "Alpha three.Beta", "" };
  const int want_shared[] = { 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 };
  size_t n = sizeof chunks / sizeof chunks[0];
  mn_job_list l = { 0 };
  for(size_t i = 0; i < n; i++)
    add(&l, i < 4 ? "first task" : "second task", chunks[i]);
  assert_int_equal(mn_jobs_share_chunks(&l, docs), 7);
  for(size_t i = 0; i < n; i++) {
    mn_job *j = &l.v[i];
    assert_int_equal(j->chunk_len, strlen(chunks[i]));
    assert_memory_equal(j->chunk, chunks[i], j->chunk_len);
    assert_int_equal(j->chunk_own == NULL, want_shared[i]);
    assert_int_equal(in_docs(docs, j->chunk, j->chunk_len), want_shared[i]);
  }
  /* equal texts keep equal ids whether shared or not; samples share too */
  mn_jobs_number(&l);
  assert_int_equal(l.v[0].chunk_id, l.v[4].chunk_id);
  mn_jobs_expand_samples(&l, 2);
  assert_int_equal(l.n, 2 * n);
  assert_ptr_equal(l.v[0].chunk, l.v[1].chunk);
  assert_true(in_docs(docs, l.v[1].chunk, l.v[1].chunk_len));
  assert_non_null(l.v[14].chunk_own);   /* the made-up chunk, copied per sample */
  assert_ptr_not_equal(l.v[14].chunk, l.v[15].chunk);
  mn_jobs_free(&l);
  mn_docs_free(docs);
}

static void share_search_is_bounded_on_repetitive_text(void **state)
{
  /* 1 MB of 'a': a chunk of 'a's ending in 'b' matches 64 bytes at every
   * offset; the budget ends the search (the chunk keeps its copy) */
  size_t n = 1u << 20;
  char *t = mn_xmalloc(n);
  memset(t, 'a', n);
  mn_docs *docs;
  assert_int_equal(mn_docs_new(&docs), MN_OK);
  mn_docs_add_text(docs, "a.txt", t, n);
  char chunk[3001];
  memset(chunk, 'a', 3000);
  chunk[2999] = 'b';
  chunk[3000] = '\0';
  mn_job_list l = { 0 };
  for(int i = 0; i < 200; i++)
    add(&l, "t", chunk);
  add(&l, "t", "aaaa");   /* found at once, even after the misses */
  assert_int_equal(mn_jobs_share_chunks(&l, docs), 1);
  assert_non_null(l.v[0].chunk_own);
  assert_null(l.v[200].chunk_own);
  mn_jobs_free(&l);
  mn_docs_free(docs);
  free(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(ids_follow_texts),
    cmocka_unit_test(samples_repeat_jobs),
    cmocka_unit_test(outputs_and_abstentions),
    cmocka_unit_test(listing_groups_by_task_then_chunk),
    cmocka_unit_test(manifest_chunk_preview_is_valid_utf8),
    cmocka_unit_test(shared_chunks_point_into_the_documents),
    cmocka_unit_test(share_search_is_bounded_on_repetitive_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

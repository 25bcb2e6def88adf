#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "minions.h"
#include "doc/bm25.h"

/* cmocka 1.1 has no assert_double_equal */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static mn_bm25 *build(const char *const *texts, size_t n, const mn_bm25_opts *o)
{
  mn_bm25 *ix = NULL;
  char *err = NULL;
  assert_int_equal(mn_bm25_build_opts(&ix, texts, NULL, n, o, &err), 0);
  assert_null(err);
  assert_non_null(ix);
  assert_int_equal(mn_bm25_count(ix), n);
  return ix;
}

/* Indexes of the hits for a query, as "i,j,k" (for readable asserts). */
static char *ranks(mn_bm25 *ix, const char *q, size_t k)
{
  mn_bm25_hit *h = NULL;
  size_t nh = 99;
  assert_int_equal(mn_bm25_query(ix, q, k, &h, &nh), 0);
  assert_true(nh <= k);
  static char out[4][256];
  static int slot;
  char *s = out[slot++ % 4];
  s[0] = '\0';
  for(size_t i = 0; i < nh; i++) {
    size_t l = strlen(s);
    snprintf(s + l, 256 - l, "%s%zu", i ? "," : "", h[i].index);
    if(i)
      assert_true(h[i - 1].score >= h[i].score);
    assert_true(h[i].score > 0);
  }
  if(!nh)
    assert_null(h);
  free(h);
  return s;
}

static const char *const corpus[] = {
  "The company reported net income and revenue growth for the fiscal year.",
  "Revenue increased because of higher product sales; income rose as well.",
  "Our zebra crossing program is a rare initiative in the parking business.",
  "Cash flow from operating activities funded the dividend and buybacks.",
  "Legal proceedings: the company is a defendant in several lawsuits.",
};
#define NCORPUS (sizeof corpus / sizeof *corpus)

static void rare_word_ranks_first(void **state)
{
  mn_bm25 *ix = build(corpus, NCORPUS, NULL);
  /* "company" is in two texts, "zebra" in one: the rare word decides. */
  /* ... and the shorter of the two "company" texts comes next. */
  assert_string_equal(ranks(ix, "company zebra", 10), "2,4,0");
  assert_string_equal(ranks(ix, "Which lawsuits is the company facing?", 1), "4");
  mn_bm25_free(ix);
}

static void stemming_matches_word_forms(void **state)
{
  mn_bm25 *ix = build(corpus, NCORPUS, NULL);
  /* "revenues" -> revenu, like "revenue"; "increases" like "increased". */
  assert_string_equal(ranks(ix, "revenues", 10), "1,0");
  assert_string_equal(ranks(ix, "increases", 10), "1");
  mn_bm25_free(ix);

  mn_bm25_opts o = MN_BM25_OPTS_INIT;
  o.stem = 0;
  ix = build(corpus, NCORPUS, &o);
  assert_string_equal(ranks(ix, "revenues", 10), "");
  assert_string_equal(ranks(ix, "revenue", 10), "1,0");
  mn_bm25_free(ix);
}

static void stop_words_alone_match_nothing(void **state)
{
  mn_bm25 *ix = build(corpus, NCORPUS, NULL);
  assert_string_equal(ranks(ix, "What is the ... and of the, for a; in it?", 10), "");
  assert_string_equal(ranks(ix, "Please answer and round to one decimal place", 10), "");
  char *e = mn_bm25_match_expr("The and of what", NULL);
  assert_string_equal(e, "");
  free(e);
  mn_bm25_free(ix);

  /* Without the stop list "the" is a word like any other. */
  mn_bm25_opts o = MN_BM25_OPTS_INIT;
  o.stop_words = 0;
  ix = build(corpus, NCORPUS, &o);
  assert_string_equal(ranks(ix, "the", 10), "0,3,4,2");
  mn_bm25_free(ix);
}

static void query_words_become_phrases(void **state)
{
  char *e = mn_bm25_match_expr(
    "What is 3M's FY2018 capital expenditure? Answer in USD millions; "
    "capital spending.", NULL);
  assert_string_equal(e, "\"3M\" OR \"FY2018\" OR \"2018\" OR \"capital\" OR "
                         "\"FY2018 capital\" OR \"expenditure\" OR "
                         "\"capital expenditure\" OR \"USD\" OR \"millions\" OR "
                         "\"USD millions\" OR \"millions capital\" OR \"spending\" OR "
                         "\"capital spending\"");
  free(e);
  mn_bm25_opts o = MN_BM25_OPTS_INIT;
  o.split_alnum = 0;
  o.stop_words = 0;
  o.pair_weight = 0;
  e = mn_bm25_match_expr("FY2018 of 3M's", &o);
  assert_string_equal(e, "\"FY2018\" OR \"of\" OR \"3M\" OR \"s\"");
  free(e);
  /* the same word in other cases is one phrase (first spelling kept) */
  e = mn_bm25_match_expr("Revenue REVENUE revenue Straße STRASSE", &o);
  assert_string_equal(e, "\"Revenue\" OR \"Straße\" OR \"STRASSE\"");
  free(e);
}

static void fts5_syntax_is_plain_text(void **state)
{
  static const char *const t[] = {
    "apple banana cherry",
    "near the body of water kiwi",
    "and or not are words here",
    "kiwifruit prefix test",
  };
  mn_bm25_opts o = MN_BM25_OPTS_INIT;
  o.stop_words = 0;
  mn_bm25 *ix = build(t, 4, &o);
  assert_string_equal(ranks(ix, "NEAR(apple banana", 10), "0,1");
  assert_string_equal(ranks(ix, "apple AND NOT banana", 10), "0,2");
  assert_string_equal(ranks(ix, "\"kiwi", 10), "1");
  assert_string_equal(ranks(ix, "body:kiwi", 10), "1");
  assert_string_equal(ranks(ix, "{body} : ^kiwi", 10), "1");
  assert_string_equal(ranks(ix, "kiwi*", 10), "1");          /* no prefix query */
  assert_string_equal(ranks(ix, "kiw*", 10), "");
  assert_string_equal(ranks(ix, "-cherry + (\"\" ) ) (", 10), "0");
  assert_string_equal(ranks(ix, "\"\"\"\" ( ) * : ^ - +", 10), "");
  /* explicit keywords are just as inert */
  mn_bm25_term kw[] = { { "apple\" OR \"kiwi", 1.0 }, { "NEAR(", 1.0 } };
  mn_bm25_hit *h = NULL;
  size_t nh = 0;
  assert_int_equal(mn_bm25_query_terms(ix, kw, 2, 10, &h, &nh), 0);
  assert_int_equal(nh, 1);             /* the phrase "near" */
  assert_int_equal(h[0].index, 1);
  free(h);
  mn_bm25_free(ix);
}

static void weights_change_the_order(void **state)
{
  static const char *const t[] = {
    "alpha report filler text",
    "beta report filler text",
    "gamma report filler text",
  };
  mn_bm25 *ix = build(t, 3, NULL);
  mn_bm25_term kw[] = { { "alpha", 1.0 }, { "beta", 3.0 } };
  mn_bm25_hit *h = NULL;
  size_t nh = 0;
  assert_int_equal(mn_bm25_query_terms(ix, kw, 2, 10, &h, &nh), 0);
  assert_int_equal(nh, 2);
  assert_int_equal(h[0].index, 1);
  assert_int_equal(h[1].index, 0);
  assert_near(h[0].score, 3.0 * h[1].score, 1e-9);
  free(h);

  kw[0].weight = 5.0;
  assert_int_equal(mn_bm25_query_terms(ix, kw, 2, 10, &h, &nh), 0);
  assert_int_equal(nh, 2);
  assert_int_equal(h[0].index, 0);
  free(h);

  /* weight 0 (or negative, or NaN) drops the keyword */
  kw[0].weight = 0;
  kw[1].weight = NAN;
  assert_int_equal(mn_bm25_query_terms(ix, kw, 2, 10, &h, &nh), 0);
  assert_int_equal(nh, 0);
  assert_null(h);
  mn_bm25_free(ix);
}

static void phrases_need_adjacent_words(void **state)
{
  static const char *const t[] = {
    "the flow of cash was strong",
    "cash flow statement for the year",
    "cost of sales rose",
  };
  mn_bm25 *ix = build(t, 3, NULL);
  mn_bm25_term kw[] = { { "Cash  Flow", 1.0 }, { "cost of sales", 1.0 } };
  mn_bm25_hit *h = NULL;
  size_t nh = 0;
  assert_int_equal(mn_bm25_query_terms(ix, kw, 1, 10, &h, &nh), 0);
  assert_int_equal(nh, 1);
  assert_int_equal(h[0].index, 1);
  free(h);
  /* stop words inside a keyword are kept, so the phrase still matches */
  assert_int_equal(mn_bm25_query_terms(ix, kw + 1, 1, 10, &h, &nh), 0);
  assert_int_equal(nh, 1);
  assert_int_equal(h[0].index, 2);
  free(h);
  mn_bm25_free(ix);
}

static void k_larger_than_n_and_ties(void **state)
{
  static const char *const t[] = { "equal words", "equal words", "equal words" };
  mn_bm25 *ix = build(t, 3, NULL);
  assert_string_equal(ranks(ix, "equal", 100), "0,1,2");
  assert_string_equal(ranks(ix, "equal", (size_t)-1), "0,1,2");
  assert_string_equal(ranks(ix, "equal", 2), "0,1");
  assert_string_equal(ranks(ix, "equal", 0), "");
  mn_bm25_free(ix);
}

static void empty_index_and_empty_texts(void **state)
{
  mn_bm25 *ix = build(NULL, 0, NULL);
  assert_string_equal(ranks(ix, "anything at all", 5), "");
  mn_bm25_free(ix);

  static const char *const t[] = { "", NULL, "   ", "word" };
  ix = build(t, 4, NULL);
  assert_string_equal(ranks(ix, "word", 5), "3");
  assert_string_equal(ranks(ix, "", 5), "");
  mn_bm25_free(ix);
}

static void non_ascii_text(void **state)
{
  static const char *const t[] = {
    "Résumé of the café in Zürich",
    "Straße und Brücke",
    "東京 の 売上",
    "plain english words",
  };
  mn_bm25 *ix = build(t, 4, NULL);
  assert_string_equal(ranks(ix, "resume", 5), "0");          /* diacritics folded */
  assert_string_equal(ranks(ix, "CAFÉ ZÜRICH", 5), "0");     /* case folded */
  assert_string_equal(ranks(ix, "straße", 5), "1");
  assert_string_equal(ranks(ix, "東京", 5), "2");
  assert_string_equal(ranks(ix, "「売上」", 5), "2");      /* CJK punctuation splits */
  /* invalid UTF-8 in a query is a separator, not a crash */
  assert_string_equal(ranks(ix, "\xff\xfe" "plain\xc3", 5), "3");
  mn_bm25_free(ix);

  /* texts with invalid UTF-8 and embedded NULs index without error */
  const char bad[] = "ok\xff\xfe words\0hidden";
  const char *bt[] = { bad };
  size_t bl[] = { sizeof bad - 1 };
  char *err = NULL;
  assert_int_equal(mn_bm25_build(&ix, bt, bl, 1, &err), 0);
  assert_string_equal(ranks(ix, "words", 5), "0");
  mn_bm25_free(ix);
}

/* With neutral weights our score is FTS5's own bm25(), negated. */
static void score_equals_builtin_bm25(void **state)
{
  static const char *const t[] = {
    "revenue revenue revenue grew strongly",
    "operating income and revenue for the fiscal year were both higher",
    "income taxes",
    "a long text about nothing much at all, filler filler filler filler",
    "revenue",
  };
  mn_bm25_opts o = MN_BM25_OPTS_INIT;
  o.stop_words = 0;
  o.pair_weight = 0;
  o.word_length = 0;
  mn_bm25 *ix = build(t, 5, &o);
  mn_bm25_hit *h = NULL;
  size_t nh = 0;
  assert_int_equal(mn_bm25_query(ix, "revenue income", 10, &h, &nh), 0);
  assert_int_equal(nh, 4);

  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(body, "
                   "tokenize='porter unicode61 remove_diacritics 2')",
                   NULL, NULL, NULL), SQLITE_OK);
  for(int i = 0; i < 5; i++) {
    char *sql = sqlite3_mprintf("INSERT INTO t(rowid, body) VALUES(%d, %Q)", i, t[i]);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
  }
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT rowid, bm25(t) FROM t WHERE t "
                   "MATCH '\"revenue\" OR \"income\"' ORDER BY bm25(t), rowid",
                   -1, &st, NULL), SQLITE_OK);
  size_t i = 0;
  while(sqlite3_step(st) == SQLITE_ROW) {
    assert_true(i < nh);
    assert_int_equal(sqlite3_column_int64(st, 0), h[i].index);
    assert_near(-sqlite3_column_double(st, 1), h[i].score, 1e-9);
    i++;
  }
  assert_int_equal(i, nh);
  sqlite3_finalize(st);
  sqlite3_close(db);
  free(h);

  /* and the formula by hand for one term: N=5, n=1, tf=1, dl=2 */
  assert_int_equal(mn_bm25_query(ix, "taxes", 10, &h, &nh), 0);
  assert_int_equal(nh, 1);
  assert_int_equal(h[0].index, 2);
  double avgdl = (5 + 11 + 2 + 12 + 1) / 5.0;
  double idf = log((5 - 1 + 0.5) / (1 + 0.5));
  double want = idf * (1 * 2.2) / (1 + 1.2 * (0.25 + 0.75 * 2 / avgdl));
  assert_near(h[0].score, want, 1e-12);
  free(h);
  mn_bm25_free(ix);
}

/* Figures do not make a text long: a table row that names the word once
 * beats a sentence that does, only when lengths count words. */
static void numbers_do_not_count_as_length(void **state)
{
  static const char *const t[] = {
    "Revenue 1,234 5,678 9,012 3,456 7,890 2,345 6,789 0,123 4,567 8,901",
    "Revenue grew in the year while costs and margins held",
    "unrelated words about other topics entirely",
    "more unrelated words here",
  };
  mn_bm25 *ix = build(t, 4, NULL);
  assert_string_equal(ranks(ix, "revenue", 10), "0,1");
  mn_bm25_free(ix);
  mn_bm25_opts o = MN_BM25_OPTS_INIT;
  o.word_length = 0;
  ix = build(t, 4, &o);
  assert_string_equal(ranks(ix, "revenue", 10), "1,0");
  mn_bm25_free(ix);
}

/* Adjacent query words are also a phrase, which outweighs a shorter text
 * holding both words apart. */
static void adjacent_words_count_as_a_phrase(void **state)
{
  static const char *const t[] = {
    "sheet balance",
    "consolidated balance sheets for the year ended december",
    "notes to the statements",
    "other text",
  };
  mn_bm25 *ix = build(t, 4, NULL);
  assert_string_equal(ranks(ix, "What does the balance sheet show?", 10), "1,0");
  mn_bm25_free(ix);
  mn_bm25_opts o = MN_BM25_OPTS_INIT;
  o.pair_weight = 0;
  ix = build(t, 4, &o);
  assert_string_equal(ranks(ix, "What does the balance sheet show?", 10), "0,1");
  mn_bm25_free(ix);
  /* a dropped word between two words breaks the pair */
  char *e = mn_bm25_match_expr("cost of sales", NULL);
  assert_string_equal(e, "\"cost\" OR \"sales\"");
  free(e);
}

/* Random bytes, heavy on FTS5's syntax characters, never make a query
 * fail: whatever the text, it is words or separators. */
static void random_queries_never_fail(void **state)
{
  mn_bm25 *ix = build(corpus, NCORPUS, NULL);
  static const char alphabet[] = "\"'()*:^-+{}[],.;NEARANDORNOT neart \xc3\xa9\xff\x80\xe6\x9d";
  unsigned seed = 12345;
  char q[64];
  for(int i = 0; i < 3000; i++) {
    size_t len = (seed = seed * 1103515245u + 12345u) % (sizeof q - 1);
    for(size_t j = 0; j < len; j++) {
      seed = seed * 1103515245u + 12345u;
      q[j] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
    }
    q[len] = '\0';
    mn_bm25_hit *h = NULL;
    size_t nh = 0;
    assert_int_equal(mn_bm25_query(ix, q, 3, &h, &nh), 0);
    assert_string_equal(mn_bm25_errmsg(ix), "");
    free(h);
    mn_bm25_term kw = { q, 1.0 };
    assert_int_equal(mn_bm25_query_terms(ix, &kw, 1, 3, &h, &nh), 0);
    free(h);
  }
  mn_bm25_free(ix);
}

/* One index per thread, several threads at once: no shared state. */
static void *thread_main(void *arg)
{
  int *ok = arg;
  for(int r = 0; r < 30 && *ok; r++) {
    mn_bm25 *ix = NULL;
    if(mn_bm25_build(&ix, corpus, NULL, NCORPUS, NULL)) {
      *ok = 0;
      break;
    }
    for(int i = 0; i < 20; i++) {
      mn_bm25_hit *h = NULL;
      size_t nh = 0;
      if(mn_bm25_query(ix, "company zebra", 10, &h, &nh) || nh != 3 ||
         h[0].index != 2 || h[1].index != 4 || h[2].index != 0)
        *ok = 0;
      free(h);
    }
    mn_bm25_free(ix);
  }
  return NULL;
}

static void indexes_in_parallel_threads(void **state)
{
  pthread_t th[4];
  int ok[4] = { 1, 1, 1, 1 };
  for(int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, thread_main, &ok[i]), 0);
  for(int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_true(ok[i]);
  }
}

static void bad_arguments_and_caps(void **state)
{
  mn_bm25 *ix = NULL;
  char *err = NULL;
  mn_bm25_opts o = MN_BM25_OPTS_INIT;
  o.b = 1.5;
  assert_int_equal(mn_bm25_build_opts(&ix, corpus, NULL, NCORPUS, &o, &err), MN_EINVAL);
  assert_null(ix);
  assert_non_null(err);
  assert_non_null(strstr(err, "b within"));
  free(err);
  o = (mn_bm25_opts)MN_BM25_OPTS_INIT;
  o.pair_weight = INFINITY;
  assert_int_equal(mn_bm25_build_opts(&ix, corpus, NULL, NCORPUS, &o, &err), MN_EINVAL);
  free(err);
  o = (mn_bm25_opts)MN_BM25_OPTS_INIT;
  o.k1 = -1;
  assert_int_equal(mn_bm25_build_opts(&ix, corpus, NULL, NCORPUS, &o, NULL), MN_EINVAL);
  assert_int_equal(mn_bm25_build(NULL, corpus, NULL, NCORPUS, NULL), MN_EINVAL);
  assert_int_equal(mn_bm25_build(&ix, NULL, NULL, 3, NULL), MN_EINVAL);

  ix = build(corpus, NCORPUS, NULL);
  mn_bm25_hit *h = (mn_bm25_hit *)1;
  size_t nh = 7;
  assert_int_equal(mn_bm25_query(ix, NULL, 3, &h, &nh), MN_EINVAL);
  assert_null(h);
  assert_int_equal(nh, 0);
  assert_int_equal(mn_bm25_query(NULL, "x", 3, &h, &nh), MN_EINVAL);

  /* A huge query of distinct words is capped, not refused. */
  size_t len = 2 * MN_BM25_MAX_QUERY_BYTES;
  char *big = malloc(len + 1);
  size_t o2 = 0;
  for(int i = 0; o2 + 16 < len; i++)
    o2 += (size_t)sprintf(big + o2, "w%d ", i);
  strcpy(big + o2, "zebra");
  char *e = mn_bm25_match_expr(big, NULL);
  size_t phrases = 1;
  for(const char *p = e; (p = strstr(p, " OR ")); p++)
    phrases++;
  assert_int_equal(phrases, MN_BM25_MAX_PHRASES);
  free(e);
  assert_string_equal(ranks(ix, big, 5), "");   /* zebra was past the cap */
  memcpy(big, "zebra ", 6);
  assert_string_equal(ranks(ix, big, 5), "2");
  free(big);
  assert_string_equal(mn_bm25_errmsg(ix), "");
  mn_bm25_free(ix);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(rare_word_ranks_first),
    cmocka_unit_test(stemming_matches_word_forms),
    cmocka_unit_test(stop_words_alone_match_nothing),
    cmocka_unit_test(query_words_become_phrases),
    cmocka_unit_test(fts5_syntax_is_plain_text),
    cmocka_unit_test(weights_change_the_order),
    cmocka_unit_test(phrases_need_adjacent_words),
    cmocka_unit_test(k_larger_than_n_and_ties),
    cmocka_unit_test(empty_index_and_empty_texts),
    cmocka_unit_test(non_ascii_text),
    cmocka_unit_test(score_equals_builtin_bm25),
    cmocka_unit_test(numbers_do_not_count_as_length),
    cmocka_unit_test(adjacent_words_count_as_a_phrase),
    cmocka_unit_test(random_queries_never_fail),
    cmocka_unit_test(indexes_in_parallel_threads),
    cmocka_unit_test(bad_arguments_and_caps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

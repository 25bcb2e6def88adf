/* The Lua sandbox: the DESIGN.md program, the provided functions, prev_jobs,
 * transform_outputs, every validation error, error messages and budgets,
 * the environment's exact contents, pattern functions against stock Lua,
 * speed on 13 MB of documents, and parallel runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/chunk.h"
#include "minions.h"
#include "sandbox/sandbox.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

static mn_sandbox_limits limits(void)
{
  mn_sandbox_limits lim = MN_SANDBOX_LIMITS_INIT;
  lim.wall_ms = 5000;
  lim.memory_bytes = 64u << 20;
  return lim;
}

typedef struct run_out {
  int rc;
  mn_sandbox_job *jobs;
  size_t n;
  int has_transform;
  char *err;
} run_out;

static run_out prepare_lim(const char *code, const mn_sandbox_docs *docs,
                           const mn_sandbox_done_job *prev, size_t n_prev,
                           const mn_sandbox_limits *lim)
{
  run_out o = { 0 };
  o.rc = mn_sandbox_prepare_jobs(code, strlen(code), docs, prev, n_prev, lim, &o.jobs, &o.n,
                                 &o.has_transform, &o.err);
  if(o.rc == MN_OK) {
    assert_null(o.err);
    assert_true(o.n >= 1);
  } else {
    assert_non_null(o.err);
    assert_null(o.jobs);
    assert_int_equal(o.n, 0);
  }
  return o;
}

static run_out prepare(const char *code, const mn_sandbox_docs *docs)
{
  mn_sandbox_limits lim = limits();
  return prepare_lim(code, docs, NULL, 0, &lim);
}

static void run_free(run_out *o)
{
  mn_sandbox_jobs_free(o->jobs, o->n);
  free(o->err);
}

/* The error of a program expected to fail with rc; contains `want`. */
static void expect_error(const char *code, const mn_sandbox_docs *docs, int rc, const char *want)
{
  run_out o = prepare(code, docs);
  if(o.rc != rc || !strstr(o.err ? o.err : "", want))
    fail_msg("program:\n%s\nrc %d (want %d), error: %s\nwanted: %s", code, o.rc, rc,
             o.err ? o.err : "(none)", want);
  run_free(&o);
}

/* transform_outputs' string (asserts success). */
static char *transform(const char *code, const mn_sandbox_docs *docs,
                       const mn_sandbox_done_job *jobs, size_t n)
{
  mn_sandbox_limits lim = limits();
  char *out = NULL, *err = NULL;
  int rc = mn_sandbox_transform_outputs(code, strlen(code), docs, jobs, n, &lim, &out, &err);
  if(rc != MN_OK)
    fail_msg("transform_outputs failed (%d): %s", rc, err);
  assert_null(err);
  assert_non_null(out);
  return out;
}

/* ---- the DESIGN.md program ---------------------------------------------- */

static const char DESIGN_PROGRAM[] =
  "-- context: array of document strings\n"
  "function prepare_jobs(context, prev_jobs)\n"
  "  local jobs = {}\n"
  "  for _, doc in ipairs(context) do\n"
  "    for _, chunk in ipairs(chunk_by_section(doc, 3000, 20)) do\n"
  "      jobs[#jobs + 1] = { chunk = chunk, task = \"Find the revenue.\", advice = \"Quote it.\" }\n"
  "    end\n"
  "  end\n"
  "  return jobs\n"
  "end\n";

static char *long_text(size_t n)
{
  static const char *const s[] = {
    "Revenue grew to $4.2 billion in fiscal 2023. ",
    "Operating costs were flat.\n",
    "The board approved a dividend of $0.50 per share. ",
    "Risks include competition, regulation and supply.\n\n",
  };
  mn_buf b = MN_BUF_INIT(0);
  for(size_t i = 0; b.len < n; i++)
    mn_buf_puts(&b, s[i % 4]);
  char *t = mn_buf_steal(&b, NULL);
  t[n] = '\0';
  return t;
}

static void design_example_jobs(void **state)
{
  (void)state;
  const char *doc1 = "ACME Corp. Revenue: $4.2 billion.";
  char *doc2 = long_text(7000);
  const char *texts[] = { doc1, doc2 };
  size_t lens[] = { strlen(doc1), 7000 };
  mn_sandbox_docs docs = { texts, lens, 2 };

  run_out o = prepare(DESIGN_PROGRAM, &docs);
  assert_int_equal(o.rc, MN_OK);
  assert_int_equal(o.has_transform, 0);

  /* what the chunker makes of each document, in order */
  mn_chunk_list cl = { 0 };
  mn_chunk_opts co = MN_CHUNK_OPTS_INIT;
  co.max_chars = 3000;
  co.overlap = 20;
  for(size_t d = 0; d < 2; d++)
    assert_int_equal(mn_chunk_text(texts[d], lens[d], d, &co, &cl), 0);
  assert_true(cl.n >= 4);  /* 1 for doc1, at least 3 for 7000 chars */
  assert_int_equal(o.n, cl.n);
  for(size_t i = 0; i < o.n; i++) {
    const mn_chunk *c = &cl.items[i];
    assert_int_equal(o.jobs[i].chunk_len, c->len);
    assert_memory_equal(o.jobs[i].chunk, texts[c->doc] + c->off, c->len);
    assert_int_equal(o.jobs[i].chunk[c->len], '\0');
    assert_string_equal(o.jobs[i].task, "Find the revenue.");
    assert_string_equal(o.jobs[i].advice, "Quote it.");
  }
  assert_string_equal(o.jobs[0].chunk, doc1);  /* a short document is one chunk */
  mn_chunk_list_free(&cl);
  run_free(&o);
  free(doc2);
}

/* ---- provided functions --------------------------------------------------- */

static void append_chunks(mn_buf *b, const char *name, const char *text, const mn_chunk_opts *co)
{
  mn_chunk_list cl = { 0 };
  assert_int_equal(mn_chunk_text(text, strlen(text), 0, co, &cl), 0);
  mn_buf_printf(b, "%s%s=%zu:", b->len ? "\n" : "", name, cl.n);
  for(size_t i = 0; i < cl.n; i++) {
    if(i)
      mn_buf_putc(b, '|');
    mn_buf_append(b, text + cl.items[i].off, cl.items[i].len);
  }
  mn_chunk_list_free(&cl);
}

static void chunk_functions_match_the_chunker(void **state)
{
  (void)state;
  const char *pages = "Page one text.\fPage two text.\fPage three text.";
  char *prose = long_text(400);
  const char *code =
    "#include <stdio.h>\n\nstatic int add(int a, int b)\n{\n  return a + b;\n}\n\n"
    "int main(void)\n{\n  printf(\"%d\\n\", add(1, 2));\n  return 0;\n}\n";
  const char *texts[] = { pages, prose, code };
  size_t lens[] = { strlen(pages), strlen(prose), strlen(code) };
  mn_sandbox_docs docs = { texts, lens, 3 };
  const char *prog =
    "function transform_outputs(jobs, context)\n"
    "  local out = {}\n"
    "  local function add(name, t) out[#out + 1] = name .. '=' .. #t .. ':' .. table.concat(t, '|') end\n"
    "  add('page', chunk_by_page(context[1]))\n"
    "  add('page10', chunk_by_page(context[1], 10))\n"
    "  add('para', chunk_by_paragraph(context[2], 120))\n"
    "  add('para_default', chunk_by_paragraph(context[2]))\n"
    "  add('code', chunk_by_code(context[3]))\n"
    "  add('sect', chunk_by_section(context[2], 100, 10))\n"
    "  add('sect_default', chunk_by_section(context[2]))\n"
    "  return table.concat(out, '\\n')\n"
    "end\n";
  char *got = transform(prog, &docs, NULL, 0);

  mn_buf want = MN_BUF_INIT(0);
  mn_chunk_opts co = MN_CHUNK_OPTS_INIT;
  co.method = MN_CHUNK_PAGE;
  co.max_chars = 0;
  append_chunks(&want, "page", pages, &co);
  co.max_chars = 10;
  append_chunks(&want, "page10", pages, &co);
  co.method = MN_CHUNK_PARAGRAPH;
  co.max_chars = 120;
  append_chunks(&want, "para", prose, &co);
  co.max_chars = 3000;
  append_chunks(&want, "para_default", prose, &co);
  co.method = MN_CHUNK_CODE;
  co.max_chars = 0;
  append_chunks(&want, "code", code, &co);
  co.method = MN_CHUNK_SECTION;
  co.max_chars = 100;
  co.overlap = 10;
  append_chunks(&want, "sect", prose, &co);
  co.max_chars = 3000;
  co.overlap = 0;
  append_chunks(&want, "sect_default", prose, &co);
  assert_string_equal(got, mn_buf_str(&want));
  /* and by hand for pages: one chunk per page, form feeds dropped */
  assert_non_null(strstr(got, "page=3:Page one text.|Page two text.|Page three text.\n"));
  assert_non_null(strstr(got, "\ncode=3:"));
  mn_buf_free(&want);
  free(got);
  free(prose);
}

static void bm25_top_k_in_document_order(void **state)
{
  (void)state;
  const char *prog =
    "local chunks = { 'apple banana orchard', 'cherry revenue growth strong', 'revenue decline',\n"
    "                 'nothing to see', 'decline of the apple market' }\n"
    "local function q(query, k) return table.concat(bm25_top_k(query, chunks, k), '|') end\n"
    "function transform_outputs()\n"
    "  local out = {\n"
    "    q('revenue', 2), q('revenue', 1), q('revenue', 10), q({'apple', 'cherry'}, 3),\n"
    "    q({{'apple', 0.1}, {'decline', 5}}, 1), q({{'banana'}, 'growth'}, 2), q('zebra', 3),\n"
    "    q('the of and', 3) }\n"
    "  chunks[1] = 'revenue revenue revenue'  -- the cached index must notice\n"
    "  out[#out + 1] = q('revenue', 1)\n"
    "  out[#out + 1] = #bm25_top_k('revenue', {}, 3)\n"
    "  return table.concat(out, '\\n')\n"
    "end\n";
  char *got = transform(prog, NULL, NULL, 0);
  assert_string_equal(got,
    "cherry revenue growth strong|revenue decline\n"
    "revenue decline\n"
    "cherry revenue growth strong|revenue decline\n"
    "apple banana orchard|cherry revenue growth strong|decline of the apple market\n"
    "revenue decline\n"
    "apple banana orchard|cherry revenue growth strong\n"
    "\n"
    "\n"
    "revenue revenue revenue\n"
    "0");
  free(got);
}

static void arguments_are_validated(void **state)
{
  (void)state;
  const char *doc = "Some text.";
  mn_sandbox_docs docs = { &doc, (size_t[]){ 10 }, 1 };
  static const struct { const char *call, *want; } cases[] = {
    { "chunk_by_section(context[1], -3)", "program:1: chunk_by_section: max_chars must be a positive integer, got -3" },
    { "chunk_by_section(context[1], 2.5)", "chunk_by_section: max_chars must be a positive integer, got 2.5" },
    { "chunk_by_section(context[1], '100')", "chunk_by_section: max_chars must be a positive integer, got a string" },
    { "chunk_by_section(context[1], 0)", "chunk_by_section: max_chars must be a positive integer, got 0" },
    { "chunk_by_section(context[1], 100, 51)", "chunk_by_section: overlap must be at most half of max_chars (50), got 51" },
    { "chunk_by_section(context[1], 100, -1)", "chunk_by_section: overlap must be a non-negative integer, got -1" },
    { "chunk_by_section(nil, 100)", "chunk_by_section: doc must be a string (e.g. context[1]), got nil" },
    { "chunk_by_section(context, 100)", "chunk_by_section: doc must be a string (e.g. context[1]), got a table" },
    { "chunk_by_page(42)", "chunk_by_page: doc must be a string (e.g. context[1]), got 42" },
    { "chunk_by_page(context[1], 0)", "chunk_by_page: max_chars must be a positive integer, got 0" },
    { "chunk_by_paragraph(context[1], true)", "chunk_by_paragraph: max_chars must be a positive integer, got true" },
    { "chunk_by_code(context[1], -1)", "chunk_by_code: max_chars must be a positive integer, got -1" },
    { "bm25_top_k(5, {'a'}, 1)", "bm25_top_k: query must be a string, an array of keywords or an array of {keyword, weight} pairs, got 5" },
    { "bm25_top_k('a', 'b', 1)", "bm25_top_k: chunks must be an array of strings (e.g. from chunk_by_section), got a string" },
    { "bm25_top_k('a', {'x', 2}, 1)", "bm25_top_k: chunks[2] must be a string, got 2" },
    { "bm25_top_k('a', {'x'}, 0)", "bm25_top_k: k must be a positive integer, got 0" },
    { "bm25_top_k('a', {'x'})", "bm25_top_k: k must be a positive integer, got nil" },
    { "bm25_top_k({}, {'x'}, 1)", "bm25_top_k: query is an empty array" },
    { "bm25_top_k({{'a', -1}}, {'x'}, 1)", "bm25_top_k: query[1][2] (the weight) must be a positive number, got -1" },
    { "bm25_top_k({{'a', 0/0}}, {'x'}, 1)", "bm25_top_k: query[1][2] (the weight) must be a positive number, got" },
    { "bm25_top_k({{3}}, {'x'}, 1)", "bm25_top_k: query[1][1] (the keyword) must be a string, got 3" },
    { "bm25_top_k({'a', false}, {'x'}, 1)", "bm25_top_k: query[2] must be a keyword string or a {keyword, weight} pair, got false" },
    { "local q = {} for i = 1, 300 do q[i] = 'w' end bm25_top_k(q, {'x'}, 1)", "bm25_top_k: query has 300 keywords, more than the limit of 256" },
    { "string.rep('ab', 5000000)", "string.rep: the result would be 10000000 bytes, over the limit of 8 MiB per string" },
    { "setmetatable({}, {__gc = print})", "setmetatable: __gc metamethods are not allowed in the sandbox" },
    { "xpcall(print)", "bad argument #2 to 'xpcall' (function expected, got no value)" },
    { "table.sort({3, 1, 'x'})", "program:1: attempt to compare" },
    { "table.concat({{}})", "program:1: invalid value (table) at index 1 in table for 'concat'" },
    { "string.find('a', '[a')", "program:1: malformed pattern (missing ']')" },
    { "string.gsub('a', 'a', '%2')", "program:1: invalid capture index %2" },
  };
  for(size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *prog = mn_xasprintf("function prepare_jobs(context) %s end", cases[i].call);
    expect_error(prog, &docs, MN_ESANDBOX, cases[i].want);
    free(prog);
  }
}

/* ---- prev_jobs and transform_outputs -------------------------------------- */

static const mn_sandbox_done_job DONE[] = {
  { "Find revenue", "Look at tables", "Revenue was $4.2B.", 18, 0, 0, 0,
    "$4.2B", "stated in the table", "Revenue was $4.2B." },
  { "Find revenue", "Look at tables", "Nothing here.", 13, 1, 0, 1,
    NULL, "no figure in this chunk", NULL },
  { "Find costs", NULL, "Costs rose 3%.", 14, 2, 1, 2,
    "up 3%", "second line", NULL },
};

static void prev_jobs_are_passed(void **state)
{
  (void)state;
  const char *prog =
    "function prepare_jobs(context, prev_jobs)\n"
    "  assert(#prev_jobs == 3, 'three previous jobs')\n"
    "  local jobs = {}\n"
    "  for _, p in ipairs(prev_jobs) do\n"
    "    if p.answer ~= nil then\n"
    "      jobs[#jobs + 1] = { task = 'Check: ' .. p.answer, chunk = p.chunk,\n"
    "        advice = string.format('%s/%s/%d/%d/%d/%s/%s', p.task, tostring(p.advice), p.job_id,\n"
    "                               p.task_id, p.chunk_id, p.explanation, tostring(p.citation)) }\n"
    "    end\n"
    "  end\n"
    "  return jobs\n"
    "end\n";
  mn_sandbox_limits lim = limits();
  run_out o = prepare_lim(prog, NULL, DONE, 3, &lim);
  assert_int_equal(o.rc, MN_OK);
  assert_int_equal(o.n, 2);
  assert_string_equal(o.jobs[0].task, "Check: $4.2B");
  assert_string_equal(o.jobs[0].chunk, "Revenue was $4.2B.");
  assert_string_equal(o.jobs[0].advice,
                      "Find revenue/Look at tables/0/0/0/stated in the table/Revenue was $4.2B.");
  assert_string_equal(o.jobs[1].task, "Check: up 3%");
  assert_string_equal(o.jobs[1].chunk, "Costs rose 3%.");
  assert_int_equal(o.jobs[1].chunk_len, 14);
  assert_string_equal(o.jobs[1].advice, "Find costs/nil/2/1/2/second line/nil");
  run_free(&o);

  /* round 1: prev_jobs is nil; an empty previous round is an empty array */
  const char *first =
    "function prepare_jobs(context, prev_jobs)\n"
    "  return {{ task = type(prev_jobs) .. ' ' .. #context, chunk = '' }}\n"
    "end\n";
  o = prepare_lim(first, NULL, NULL, 0, &lim);
  assert_int_equal(o.rc, MN_OK);
  assert_string_equal(o.jobs[0].task, "nil 0");
  assert_int_equal(o.jobs[0].chunk_len, 0);
  assert_null(o.jobs[0].advice);
  run_free(&o);
  o = prepare_lim(first, NULL, DONE, 0, &lim);
  assert_int_equal(o.rc, MN_OK);
  assert_string_equal(o.jobs[0].task, "table 0");
  run_free(&o);
}

static void transform_outputs_runs(void **state)
{
  (void)state;
  const char *prog =
    "function prepare_jobs(context) return {{ task = 't', chunk = context[1] }} end\n"
    "function transform_outputs(jobs, context)\n"
    "  local lines = {}\n"
    "  for _, j in ipairs(jobs) do\n"
    "    lines[#lines + 1] = string.format('#%d %s: %s', j.job_id, j.task, j.answer or 'abstained')\n"
    "  end\n"
    "  return table.concat(lines, '\\n') .. '\\n(' .. #context .. ' doc)'\n"
    "end\n";
  const char *doc = "A document.";
  mn_sandbox_docs docs = { &doc, (size_t[]){ 11 }, 1 };
  run_out o = prepare(prog, &docs);
  assert_int_equal(o.rc, MN_OK);
  assert_int_equal(o.has_transform, 1);
  assert_string_equal(o.jobs[0].chunk, "A document.");
  run_free(&o);

  char *got = transform(prog, &docs, DONE, 3);
  assert_string_equal(got, "#0 Find revenue: $4.2B\n#1 Find revenue: abstained\n"
                           "#2 Find costs: up 3%\n(1 doc)");
  free(got);

  /* invalid UTF-8 in the output is repaired */
  got = transform("function transform_outputs() return 'caf\\xc3' .. '!' end", NULL, NULL, 0);
  assert_string_equal(got, "caf\xEF\xBF\xBD!");
  free(got);

  static const struct { const char *prog; int rc; const char *want; } bad[] = {
    { "function prepare_jobs() end", MN_ESANDBOX,
      "the program does not define a global function transform_outputs(jobs)" },
    { "function transform_outputs() return {} end", MN_ESANDBOX,
      "transform_outputs must return a string, got a table" },
    { "function transform_outputs() return 42 end", MN_ESANDBOX,
      "transform_outputs must return a string, got 42" },
    { "function transform_outputs() return 'a\\0b' end", MN_ESANDBOX,
      "transform_outputs returned a string containing a NUL byte" },
    { "function transform_outputs(jobs) return jobs[1].chunk .. jobs[9].chunk end", MN_ESANDBOX,
      "program:1: attempt to index a nil value" },
    { "function transform_outputs() while true do end end", MN_ELIMIT,
      "instruction budget of 1000000 exceeded" },
  };
  for(size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    mn_sandbox_limits lim = limits();
    lim.instructions = 1000000;
    char *out = (char *)1, *err = NULL;
    int rc = mn_sandbox_transform_outputs(bad[i].prog, strlen(bad[i].prog), NULL, DONE, 3, &lim,
                                          &out, &err);
    assert_int_equal(rc, bad[i].rc);
    assert_null(out);
    if(!strstr(err, bad[i].want))
      fail_msg("%s: got '%s', want '%s'", bad[i].prog, err, bad[i].want);
    free(err);
  }
}

/* ---- what prepare_jobs returns -------------------------------------------- */

static void results_are_validated(void **state)
{
  (void)state;
  const char *big = NULL;
  char *bigdoc = malloc((9u << 20) + 1);
  memset(bigdoc, 'a', 9u << 20);
  bigdoc[9u << 20] = '\0';
  big = bigdoc;
  mn_sandbox_docs docs = { &big, (size_t[]){ 9u << 20 }, 1 };
  static const struct { const char *body; int rc; const char *want; } cases[] = {
    { "return {{task = 'a', chunk = 'x'}, {task = 'b', chunk = 'y'}, {chunk = 'z'}}", MN_ESANDBOX,
      "job 3: field 'task' must be a non-empty string, got nil" },
    { "return {{task = '', chunk = 'x'}}", MN_ESANDBOX,
      "job 1: field 'task' must be a non-empty string, got an empty string" },
    { "return {{task = 7, chunk = 'x'}}", MN_ESANDBOX,
      "job 1: field 'task' must be a non-empty string, got 7" },
    { "return {{task = 't'}}", MN_ESANDBOX, "job 1: field 'chunk' must be a string, got nil" },
    { "return {{task = 't', chunk = 1.5}}", MN_ESANDBOX,
      "job 1: field 'chunk' must be a string, got 1.5" },
    { "return {{task = 't', chunk = 'c', advice = {}}}", MN_ESANDBOX,
      "job 1: field 'advice' must be a string or nil, got a table" },
    { "return {{task = 't\\0u', chunk = 'c'}}", MN_ESANDBOX, "job 1: field 'task' contains a NUL byte" },
    { "return {{task = 't', chunk = 'c'}, 'job'}", MN_ESANDBOX,
      "job 2: expected a table with fields task, chunk and optional advice, got a string" },
    { "return {}", MN_ESANDBOX, "prepare_jobs returned no jobs (an empty table)" },
    { "return {task = 't', chunk = 'c'}", MN_ESANDBOX,
      "prepare_jobs returned a single job; return an array of jobs: return { job }" },
    { "return {[2] = {task = 't', chunk = 'c'}}", MN_ESANDBOX,
      "the table it returned has nothing at index 1" },
    { "return 'jobs'", MN_ESANDBOX,
      "prepare_jobs must return an array of jobs (tables with fields task, chunk and optional advice), got a string" },
    { "return nil", MN_ESANDBOX, "got nil" },
    { "local j = {} for i = 1, 2049 do j[i] = {task = 't', chunk = ''} end return j", MN_ELIMIT,
      "prepare_jobs returned 2049 jobs, more than the limit of 2048" },
    { "return {{task = 't', chunk = context[1]}}", MN_ELIMIT,
      "job 1: field 'chunk' is 9437184 bytes, over the limit of 8 MiB per string" },
    { "local j = {} local s = context[1]:sub(1, 8000000) for i = 1, 40 do j[i] = {task = 't', chunk = s} end return j",
      MN_ELIMIT, "add up to more than 256 MiB (at job 34)" },
  };
  for(size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *prog = mn_xasprintf("function prepare_jobs(context)\n  %s\nend\n", cases[i].body);
    expect_error(prog, &docs, cases[i].rc, cases[i].want);
    free(prog);
  }
  free(bigdoc);
}

static void job_strings_are_repaired_utf8(void **state)
{
  (void)state;
  run_out o = prepare("function prepare_jobs()\n"
                      "  return {{task = ('é'):sub(1, 1) .. 'x', chunk = 'ok\\xff\\xfe', advice = 'é'}}\n"
                      "end\n", NULL);
  assert_int_equal(o.rc, MN_OK);
  assert_string_equal(o.jobs[0].task, "\xEF\xBF\xBDx");
  assert_string_equal(o.jobs[0].chunk, "ok\xEF\xBF\xBD\xEF\xBF\xBD");
  assert_int_equal(o.jobs[0].chunk_len, 8);
  assert_string_equal(o.jobs[0].advice, "é");
  run_free(&o);
}

/* ---- messages and budgets ----------------------------------------------------- */

static void error_messages(void **state)
{
  (void)state;
  /* a runtime error keeps its line; print output is appended */
  run_out o = prepare("function prepare_jobs()\n  print('hello', 42, nil)\n  error('boom')\nend\n", NULL);
  assert_int_equal(o.rc, MN_ESANDBOX);
  assert_string_equal(o.err, "program:3: boom\nprint output:\nhello\t42\tnil\n");
  run_free(&o);

  o = prepare("function prepare_jobs( return end", NULL);
  assert_int_equal(o.rc, MN_ESANDBOX);
  assert_string_equal(o.err, "program:1: <name> or '...' expected near 'return'");
  run_free(&o);

  o = prepare("local function prepare_jobs() return {} end", NULL);
  assert_int_equal(o.rc, MN_ESANDBOX);
  assert_string_equal(o.err, "the program does not define a global function "
                             "prepare_jobs(context, prev_jobs) (it must not be local)");
  run_free(&o);

  /* an error object that is not a string */
  o = prepare("error({code = 1})", NULL);
  assert_string_equal(o.err, "(error object is a table value)");
  run_free(&o);
  o = prepare("error(42)", NULL);
  assert_string_equal(o.err, "42");
  run_free(&o);

  /* control characters in a message are made printable; a huge message is cut */
  o = prepare("error('a\\nb\\1c', 0)", NULL);
  assert_string_equal(o.err, "a?b?c");
  run_free(&o);
  o = prepare("error(('x'):rep(100000), 0)", NULL);
  assert_true(strlen(o.err) < 1100);
  assert_non_null(strstr(o.err, "..."));
  run_free(&o);

  /* a stack is shown when it says more than the message */
  o = prepare("local function inner() error('deep') end\n"
              "local function outer() inner() end\n"
              "function prepare_jobs() outer() end\n", NULL);
  assert_string_equal(o.err, "program:1: deep\nstack: program:1 in function 'inner' <- "
                             "program:2 in function 'outer' <- program:3 in function 'prepare_jobs'");
  run_free(&o);
}

static void budgets_are_named(void **state)
{
  (void)state;
  mn_sandbox_limits lim = limits();
  lim.instructions = 100000;
  run_out o = prepare_lim("local function spin() while true do end end\n"
                          "function prepare_jobs() spin() end\n", NULL, NULL, 0, &lim);
  assert_int_equal(o.rc, MN_ELIMIT);
  assert_string_equal(o.err, "instruction budget of 100000 exceeded\n"
                             "stack: program:1 in function 'spin' <- program:2 in function 'prepare_jobs'");
  run_free(&o);

  lim = limits();
  lim.wall_ms = 200;
  double t0 = mn_now();
  o = prepare_lim("function prepare_jobs() print('before') while true do end end", NULL, NULL, 0, &lim);
  double took = mn_now() - t0;
  assert_int_equal(o.rc, MN_ELIMIT);
  assert_string_equal(o.err, "time limit of 200 ms exceeded\nstack: program:1 in function "
                             "'prepare_jobs'\nprint output:\nbefore\n");
  assert_true(took >= 0.2);
  run_free(&o);

  lim = limits();
  lim.memory_bytes = 8u << 20;
  o = prepare_lim("local t = {} for i = 1, 1e9 do t[i] = i end", NULL, NULL, 0, &lim);
  assert_int_equal(o.rc, MN_ELIMIT);
  assert_string_equal(o.err, "memory limit of 8 MiB exceeded");
  run_free(&o);

  /* the cap of one string, through the VM's concatenation */
  lim = limits();
  lim.max_string_bytes = 1000;
  o = prepare_lim("local s = ('x'):rep(600) local t = s .. s", NULL, NULL, 0, &lim);
  assert_int_equal(o.rc, MN_ELIMIT);
  assert_string_equal(o.err, "a string of 1200 bytes was refused: over the limit of 1000 bytes per string");
  run_free(&o);
  /* ...which a program may catch and carry on */
  o = prepare_lim("local ok, e = pcall(function() local s = ('x'):rep(600) return s .. s end)\n"
                  "function prepare_jobs() return {{task = tostring(ok) .. ' ' .. e, chunk = ''}} end\n",
                  NULL, NULL, 0, &lim);
  assert_int_equal(o.rc, MN_OK);
  assert_string_equal(o.jobs[0].task, "false not enough memory");
  run_free(&o);

  /* budget errors cannot be swallowed, and the cause stays the budget even
   * when the program raises something else afterwards */
  lim = limits();
  lim.instructions = 50000;
  o = prepare_lim("function prepare_jobs()\n"
                  "  for i = 1, 10 do pcall(function() while true do end end) end\n"
                  "  error('all fine here')\n"
                  "end\n", NULL, NULL, 0, &lim);
  assert_int_equal(o.rc, MN_ELIMIT);
  assert_non_null(strstr(o.err, "instruction budget of 50000 exceeded"));
  run_free(&o);

  /* the limits from C are checked */
  mn_sandbox_job *jobs = (mn_sandbox_job *)1;
  size_t n = 9;
  char *err = NULL;
  lim = limits();
  lim.wall_ms = 0;
  assert_int_equal(mn_sandbox_prepare_jobs("x", 1, NULL, NULL, 0, &lim, &jobs, &n, NULL, &err),
                   MN_EINVAL);
  assert_null(jobs);
  assert_int_equal(n, 0);
  assert_string_equal(err, "invalid sandbox limits");
  free(err);
  assert_int_equal(mn_sandbox_prepare_jobs(NULL, 0, NULL, NULL, 0, NULL, &jobs, &n, NULL, &err),
                   MN_EINVAL);
  free(err);
  lim = limits();
  lim.max_string_bytes = 10;
  assert_int_equal(mn_sandbox_prepare_jobs("-- a long program", 17, NULL, NULL, 0, &lim, &jobs,
                                           &n, NULL, &err), MN_ELIMIT);
  assert_string_equal(err, "the program is 17 bytes, over the limit of 10 bytes");
  free(err);
}

static void pcall_and_xpcall_behave(void **state)
{
  (void)state;
  run_out o = prepare(
    "function prepare_jobs()\n"
    "  local ok, e = pcall(error, 'x', 0)\n"
    "  local ok2, a, b = xpcall(function(p, q) return p + q, 'r' end, function(m) return 'H:' .. m end, 2, 3)\n"
    "  local ok3, m = xpcall(function() error('bad', 0) end, function(m) return 'H:' .. m end)\n"
    "  local ok4, m4 = xpcall(function() error('bad', 0) end, function(m) error('again', 0) end)\n"
    "  local t = setmetatable({}, {__index = function(t, k) return k .. '!' end})\n"
    "  return {{task = table.concat({tostring(ok), e, tostring(ok2), a, b, tostring(ok3), m,\n"
    "                                tostring(ok4), t.x, getmetatable('') == false and 'hidden' or 'shown'}, ','),\n"
    "           chunk = ''}}\n"
    "end\n", NULL);
  assert_int_equal(o.rc, MN_OK);
  assert_string_equal(o.jobs[0].task, "false,x,true,5,r,false,H:bad,false,x!,hidden");
  run_free(&o);
}

/* The exact set of globals and library functions a program sees. */
static void environment_is_allow_listed(void **state)
{
  (void)state;
  char *got = transform(
    "function transform_outputs()\n"
    "  local names = {}\n"
    "  for k, v in pairs(_G) do\n"
    "    if type(v) == 'table' and k ~= '_G' then\n"
    "      local sub = {}\n"
    "      for k2 in pairs(v) do sub[#sub + 1] = k2 end\n"
    "      table.sort(sub)\n"
    "      names[#names + 1] = k .. '{' .. table.concat(sub, ',') .. '}'\n"
    "    else\n"
    "      names[#names + 1] = k\n"
    "    end\n"
    "  end\n"
    "  table.sort(names)\n"
    "  return table.concat(names, ' ')\n"
    "end\n", NULL, NULL, 0);
  assert_string_equal(got,
    "_G _VERSION assert bm25_top_k chunk_by_code chunk_by_page chunk_by_paragraph "
    "chunk_by_section error getmetatable ipairs "
    "math{abs,acos,asin,atan,atan2,ceil,cos,cosh,deg,exp,floor,fmod,frexp,huge,ldexp,log,"
    "log10,max,maxinteger,min,mininteger,modf,pi,pow,rad,random,randomseed,sin,sinh,sqrt,tan,"
    "tanh,tointeger,type,ult} "
    "next pairs pcall print rawequal rawget rawlen rawset select setmetatable "
    "string{byte,char,find,format,gmatch,gsub,len,lower,match,rep,reverse,sub,upper} "
    "table{concat,insert,move,pack,remove,sort,unpack} tonumber tostring transform_outputs "
    "type unpack utf8{char,charpattern,codepoint,codes,len,offset} xpcall");
  free(got);

  /* the same pseudo-random numbers on every run */
  const char *rnd = "function transform_outputs() return math.random(1, 1000000) .. ' ' .. math.random() end";
  char *a = transform(rnd, NULL, NULL, 0), *b = transform(rnd, NULL, NULL, 0);
  assert_string_equal(a, b);
  free(a);
  free(b);
}

/* ---- pattern functions against stock Lua ------------------------------------ */

static void patterns_match_stock_lua(void **state)
{
  (void)state;
  const char *src = getenv("MN_SOURCE_DIR");
  char *path;
  if(src) {
    path = mn_xasprintf("%s/tests/sandbox/pattern_cases.lua", src);
  } else {  /* run by hand: __FILE__ is in tests/unit */
    char *here = mn_xstrdup(__FILE__);
    *strrchr(here, '/') = '\0';
    path = mn_xasprintf("%s/../sandbox/pattern_cases.lua", here);
    free(here);
  }
  size_t len;
  char *code = mn_test_read_file(path, &len);
  assert_non_null(code);
  free(path);

  /* stock Lua, same chunk name so positions in messages agree */
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  assert_int_equal(luaL_loadbufferx(L, code, len, "=program", "t"), LUA_OK);
  lua_call(L, 0, 0);
  lua_getglobal(L, "pattern_cases");
  lua_call(L, 0, 1);
  size_t wl;
  const char *want = lua_tolstring(L, -1, &wl);
  assert_true(wl > 100000);

  mn_sandbox_limits lim = limits();
  char *out = NULL, *err = NULL;
  int rc = mn_sandbox_transform_outputs(code, len, NULL, NULL, 0, &lim, &out, &err);
  if(rc)
    fail_msg("sandbox: %s", err);
  /* line by line, to show the first differences */
  const char *a = want, *b = out;
  size_t line = 1, diffs = 0;
  while(*a && *b) {
    size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
    if(la != lb || memcmp(a, b, la)) {
      if(diffs++ < 5)
        printf("line %zu differs:\n  stock:   %.*s\n  sandbox: %.*s\n", line, (int)la, a, (int)lb, b);
    }
    a += la + (a[la] == '\n');
    b += lb + (b[lb] == '\n');
    line++;
  }
  assert_int_equal(diffs, 0);
  assert_true(!*a && !*b);
  printf("%zu pattern results identical to stock Lua\n", line - 1);
  free(out);
  free(code);
  lua_close(L);
}

/* ---- documents longer than the string cap ------------------------------------ */

static void big_documents_pass_through(void **state)
{
  (void)state;
  size_t n = 9u << 20;
  char *doc = long_text(n);
  const char *texts[] = { doc };
  mn_sandbox_docs docs = { texts, &n, 1 };
  run_out o = prepare(
    "function prepare_jobs(context)\n"
    "  local d = context[1]\n"
    "  local same, count = d:gsub('\\r', '')          -- no change: no copy\n"
    "  assert(count == 0 and #same == #d)\n"
    "  local chunks = chunk_by_section(same, 4000)\n"
    "  local top = bm25_top_k({'dividend', {'board', 2}}, chunks, 3)\n"
    "  local ok, e = pcall(string.sub, d, 1, -1)      -- a copy is over the cap\n"
    "  return {{task = #chunks .. ' ' .. #top .. ' ' .. tostring(ok) .. ' ' .. e, chunk = top[1]}}\n"
    "end\n", &docs);
  assert_int_equal(o.rc, MN_OK);
  assert_non_null(strstr(o.jobs[0].task, " 3 false not enough memory"));
  assert_true(atoi(o.jobs[0].task) > 2000);
  assert_non_null(strstr(o.jobs[0].chunk, "dividend"));
  run_free(&o);
  free(doc);
}

/* ---- speed: 2000 jobs over 13 MB ---------------------------------------------- */

static void thirteen_megabytes_quickly(void **state)
{
  (void)state;
  enum { NDOCS = 4 };
  size_t each = 13000000 / NDOCS;
  char *docs_text[NDOCS];
  const char *texts[NDOCS];
  size_t lens[NDOCS];
  for(int i = 0; i < NDOCS; i++) {
    docs_text[i] = long_text(each);
    for(size_t k = 50000; k < each; k += 50000)
      docs_text[i][k] = '\f';  /* pages, as pdftotext writes them */
    texts[i] = docs_text[i];
    lens[i] = each;
  }
  mn_sandbox_docs docs = { texts, lens, NDOCS };
  const char *prog =
    "function prepare_jobs(context)\n"
    "  local jobs = {}\n"
    "  for _, doc in ipairs(context) do\n"
    "    for _, chunk in ipairs(chunk_by_section(doc, 6500, 50)) do\n"
    "      jobs[#jobs + 1] = { task = 'Extract the revenue figures.', chunk = chunk,\n"
    "                          advice = 'Answer with numbers only.' }\n"
    "    end\n"
    "  end\n"
    "  return jobs\n"
    "end\n";
  double best = 1e9;
  size_t n = 0;
  for(int rep = 0; rep < 3; rep++) {
    double t0 = mn_now();
    run_out o = prepare(prog, &docs);
    double t = mn_now() - t0;
    assert_int_equal(o.rc, MN_OK);
    n = o.n;
    run_free(&o);
    if(t < best)
      best = t;
  }
  printf("%zu jobs over 13 MB of documents: %.0f ms\n", n, best * 1000);
  assert_true(n >= 1900 && n <= 2048);
  assert_true(best < 1.0);

  /* bm25 over every chunk, once per task: the index is built once */
  const char *retrieval =
    "function prepare_jobs(context)\n"
    "  local chunks = {}\n"
    "  for _, doc in ipairs(context) do\n"
    "    for _, c in ipairs(chunk_by_section(doc, 3000)) do chunks[#chunks + 1] = c end\n"
    "  end\n"
    "  local jobs = {}\n"
    "  for _, q in ipairs({'revenue', 'dividend per share', 'regulation risks', 'operating costs'}) do\n"
    "    for _, c in ipairs(bm25_top_k(q, chunks, 20)) do jobs[#jobs + 1] = {task = q, chunk = c} end\n"
    "  end\n"
    "  return jobs\n"
    "end\n";
  double t0 = mn_now();
  run_out o = prepare(retrieval, &docs);
  double t = mn_now() - t0;
  assert_int_equal(o.rc, MN_OK);
  assert_int_equal(o.n, 80);
  printf("4 bm25_top_k queries over %s: %.0f ms\n", "13 MB of chunks", t * 1000);
  run_free(&o);
  for(int i = 0; i < NDOCS; i++)
    free(docs_text[i]);
}

/* ---- parallel runs -------------------------------------------------------------- */

typedef struct thread_arg {
  mn_sandbox_docs *docs;
  int ok;
} thread_arg;

static void *thread_main(void *p)
{
  thread_arg *a = p;
  a->ok = 1;
  for(int i = 0; i < 20; i++) {
    mn_sandbox_limits lim = limits();
    mn_sandbox_job *jobs = NULL;
    size_t n = 0;
    char *err = NULL;
    int rc = mn_sandbox_prepare_jobs(DESIGN_PROGRAM, strlen(DESIGN_PROGRAM), a->docs, NULL, 0,
                                     &lim, &jobs, &n, NULL, &err);
    if(rc || n != 4 || strcmp(jobs[3].task, "Find the revenue."))
      a->ok = 0;
    mn_sandbox_jobs_free(jobs, n);
    free(err);
    /* and one that hits a budget, in between */
    lim.instructions = 20000;
    rc = mn_sandbox_prepare_jobs("while true do end", 17, NULL, NULL, 0, &lim, &jobs, &n, NULL, &err);
    if(rc != MN_ELIMIT || !strstr(err, "instruction budget of 20000"))
      a->ok = 0;
    free(err);
  }
  return NULL;
}

static void parallel_runs_are_independent(void **state)
{
  (void)state;
  char *doc = long_text(7000);
  const char *texts[] = { "Short doc.", doc };
  size_t lens[] = { 10, 7000 };
  mn_sandbox_docs docs = { texts, lens, 2 };
  pthread_t th[4];
  thread_arg args[4];
  for(int i = 0; i < 4; i++) {
    args[i].docs = &docs;
    assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
  }
  for(int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_true(args[i].ok);
  }
  free(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(design_example_jobs),
    cmocka_unit_test(chunk_functions_match_the_chunker),
    cmocka_unit_test(bm25_top_k_in_document_order),
    cmocka_unit_test(arguments_are_validated),
    cmocka_unit_test(prev_jobs_are_passed),
    cmocka_unit_test(transform_outputs_runs),
    cmocka_unit_test(results_are_validated),
    cmocka_unit_test(job_strings_are_repaired_utf8),
    cmocka_unit_test(error_messages),
    cmocka_unit_test(budgets_are_named),
    cmocka_unit_test(pcall_and_xpcall_behave),
    cmocka_unit_test(environment_is_allow_listed),
    cmocka_unit_test(patterns_match_stock_lua),
    cmocka_unit_test(big_documents_pass_through),
    cmocka_unit_test(thirteen_megabytes_quickly),
    cmocka_unit_test(parallel_runs_are_independent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

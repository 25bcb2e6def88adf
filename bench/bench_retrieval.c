/* Retrieval quality and latency on FinanceBench.
 *
 * For each question, retrieve chunks of its own filing for the question
 * text and check whether a page named in its evidence lies within the pages
 * of the top-k chunks (recall@1/5/10/20), with 1,000-character chunks (the
 * paper's RAG setting) and with one chunk per page. Rows: a plain BM25
 * written out here (k1 1.2, b 0.75, lower-cased alphanumeric words, no
 * stemming, no stop words) as an independent reference, then FTS5 settings
 * from plain to the library default, plus alternatives. The questions are
 * split into two halves by a hash of their id, and recall@10 is shown on
 * each half so a setting that only helps half of them stands out.
 *
 * Usage: bench_retrieval [--data DIR] [--cache DIR] [--verbose]
 *   DIR defaults to $MN_SHARED_DIR/data/financebench, else the shared/
 *   folder next to the source tree. pdftotext output is cached in
 *   $TMPDIR/mn-bench-retrieval (keyed by file name and size).
 */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "minions.h"
#include "doc/bm25.h"
#include "doc/chunk.h"
#include "util/mem.h"
#include "util/time.h"

extern char **environ;

#define TOP_K 20
static const size_t KS[] = { 1, 5, 10, 20 };
#define NKS (sizeof KS / sizeof *KS)

/* ---- Input -------------------------------------------------------------- */

typedef struct question {
  char *id;
  char *doc;
  char *text;
  int *pages;          /* evidence pages in this question's own filing */
  size_t n_pages;
  int half;            /* 0 or 1 */
  size_t filing;
} question;

typedef struct chunking {
  mn_chunk_list chunks;
  const char **texts;
  size_t *lens;
} chunking;

typedef struct filing {
  char *name;
  char *text;
  size_t len;
  chunking ch[2];      /* 0: 1,000-character sections, 1: pages */
} filing;

static const char *const CHUNKING_NAME[2] = { "1000-char chunks", "page chunks" };

static char *read_all(const char *path, size_t *len_out)
{
  FILE *f = fopen(path, "rb");
  if(!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for(;;) {
    MN_GROW(buf, cap, len + 65536 + 1);
    size_t got = fread(buf + len, 1, 65536, f);
    len += got;
    if(got < 65536)
      break;
  }
  int bad = ferror(f);
  fclose(f);
  if(bad) {
    free(buf);
    return NULL;
  }
  buf[len] = '\0';
  if(len_out)
    *len_out = len;
  return buf;
}

/* pdftotext is slow (seconds per filing); keep its output keyed by the
 * PDF's name and size. */
static char *filing_text(const char *datadir, const char *cachedir,
                         const char *name, size_t *len)
{
  char *pdf = mn_xasprintf("%s/pdfs/%s.pdf", datadir, name);
  struct stat st;
  if(stat(pdf, &st) != 0) {
    fprintf(stderr, "bench_retrieval: %s: %s\n", pdf, strerror(errno));
    free(pdf);
    return NULL;
  }
  char *cache = mn_xasprintf("%s/%s-%lld.txt", cachedir, name, (long long)st.st_size);
  char *text = read_all(cache, len);
  if(!text) {
    char *tmp = mn_xasprintf("%s.%d.tmp", cache, (int)getpid());
    char *argv[] = { "pdftotext", "-enc", "UTF-8", pdf, tmp, NULL };
    pid_t pid;
    int status = 0;
    if(posix_spawnp(&pid, "pdftotext", NULL, NULL, argv, environ) != 0 ||
       waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
       WEXITSTATUS(status) != 0)
      fprintf(stderr, "bench_retrieval: pdftotext failed on %s\n", pdf);
    else if(rename(tmp, cache) == 0)
      text = read_all(cache, len);
    unlink(tmp);
    free(tmp);
  }
  free(cache);
  free(pdf);
  return text;
}

static unsigned fnv1a(const char *s)
{
  unsigned h = 2166136261u;
  for(; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static size_t load_questions(const char *path, question **out)
{
  size_t len = 0;
  char *all = read_all(path, &len);
  if(!all) {
    fprintf(stderr, "bench_retrieval: cannot read %s\n", path);
    exit(1);
  }
  question *qs = NULL;
  size_t n = 0, cap = 0;
  for(char *line = all, *nl; line && *line; line = nl ? nl + 1 : NULL) {
    nl = strchr(line, '\n');
    if(nl)
      *nl = '\0';
    if(!*line)
      continue;
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    if(!j) {
      fprintf(stderr, "bench_retrieval: %s:%d: %s\n", path, err.line, err.text);
      exit(1);
    }
    const char *id = json_string_value(json_object_get(j, "financebench_id"));
    const char *doc = json_string_value(json_object_get(j, "doc_name"));
    const char *text = json_string_value(json_object_get(j, "question"));
    json_t *ev = json_object_get(j, "evidence");
    if(!id || !doc || !text || !json_is_array(ev)) {
      fprintf(stderr, "bench_retrieval: %s: a question lacks fields\n", path);
      exit(1);
    }
    MN_GROW(qs, cap, n + 1);
    question *q = &qs[n++];
    memset(q, 0, sizeof *q);
    q->id = mn_xstrdup(id);
    q->doc = mn_xstrdup(doc);
    q->text = mn_xstrdup(text);
    q->half = (int)(fnv1a(id) & 1);
    q->pages = mn_xcalloc(json_array_size(ev) + 1, sizeof *q->pages);
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) {
      const char *edoc = json_string_value(json_object_get(e, "doc_name"));
      json_t *pg = json_object_get(e, "evidence_page_num");
      if(json_is_integer(pg) && (!edoc || !strcmp(edoc, doc)))
        q->pages[q->n_pages++] = (int)json_integer_value(pg);
    }
    json_decref(j);
  }
  free(all);
  *out = qs;
  return n;
}

/* ---- The plain BM25 reference --------------------------------------------
 * Deliberately independent of FTS5: its own tokenizer (ASCII letters and
 * digits lower-cased, bytes >= 0x80 kept inside words, everything else
 * separates), its own postings, Lucene's non-negative IDF
 * ln(1 + (N - n + 0.5) / (n + 0.5)), k1 = 1.2, b = 0.75, each distinct query
 * word counted once. */

typedef struct posting {
  unsigned chunk;
  unsigned tf;
} posting;

typedef struct term {
  char *word;
  posting *post;
  size_t n, cap;
} term;

typedef struct plain_index {
  term *slots;         /* open addressing, power-of-two size */
  size_t nslots, nterms;
  unsigned *dl;
  size_t ndocs;
  double avgdl;
} plain_index;

static int plain_char(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c >= 0x80;
}

/* Next lower-cased word of s[*pos..len) into buf (truncated to cap-1). */
static int plain_word(const char *s, size_t len, size_t *pos, char *buf, size_t cap)
{
  size_t i = *pos;
  while(i < len && !plain_char((unsigned char)s[i]))
    i++;
  if(i >= len) {
    *pos = i;
    return 0;
  }
  size_t o = 0;
  while(i < len && plain_char((unsigned char)s[i])) {
    char c = s[i++];
    if(c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if(o + 1 < cap)
      buf[o++] = c;
  }
  buf[o] = '\0';
  *pos = i;
  return 1;
}

static term *plain_slot(plain_index *ix, const char *w)
{
  size_t m = ix->nslots - 1, h = fnv1a(w) & m;
  while(ix->slots[h].word && strcmp(ix->slots[h].word, w))
    h = (h + 1) & m;
  return &ix->slots[h];
}

static void plain_grow(plain_index *ix)
{
  term *old = ix->slots;
  size_t n = ix->nslots;
  ix->nslots = n ? n * 2 : 4096;
  ix->slots = mn_xcalloc(ix->nslots, sizeof *ix->slots);
  for(size_t i = 0; i < n; i++)
    if(old[i].word)
      *plain_slot(ix, old[i].word) = old[i];
  free(old);
}

static void plain_build(plain_index *ix, const chunking *c)
{
  memset(ix, 0, sizeof *ix);
  plain_grow(ix);
  ix->ndocs = c->chunks.n;
  ix->dl = mn_xcalloc(ix->ndocs + 1, sizeof *ix->dl);
  double total = 0;
  char w[256];
  for(size_t d = 0; d < ix->ndocs; d++) {
    size_t pos = 0;
    while(plain_word(c->texts[d], c->lens[d], &pos, w, sizeof w)) {
      ix->dl[d]++;
      if(2 * (ix->nterms + 1) > ix->nslots)
        plain_grow(ix);
      term *t = plain_slot(ix, w);
      if(!t->word) {
        t->word = mn_xstrdup(w);
        ix->nterms++;
      }
      if(t->n && t->post[t->n - 1].chunk == d) {
        t->post[t->n - 1].tf++;
      } else {
        MN_GROW(t->post, t->cap, t->n + 1);
        t->post[t->n].chunk = (unsigned)d;
        t->post[t->n].tf = 1;
        t->n++;
      }
    }
    total += ix->dl[d];
  }
  ix->avgdl = ix->ndocs ? total / (double)ix->ndocs : 1;
  if(ix->avgdl <= 0)
    ix->avgdl = 1;
}

static void plain_free(plain_index *ix)
{
  for(size_t i = 0; i < ix->nslots; i++) {
    free(ix->slots[i].word);
    free(ix->slots[i].post);
  }
  free(ix->slots);
  free(ix->dl);
}

/* Top k chunks (indexes into out, best first; ties by index). */
static size_t plain_query(const plain_index *ix, const char *q, size_t k, size_t *out)
{
  double *score = mn_xcalloc(ix->ndocs + 1, sizeof *score);
  char **seen = NULL;
  size_t nseen = 0, capseen = 0, pos = 0;
  char w[256];
  while(plain_word(q, strlen(q), &pos, w, sizeof w)) {
    int dup = 0;
    for(size_t i = 0; i < nseen && !dup; i++)
      dup = !strcmp(seen[i], w);
    if(dup)
      continue;
    MN_GROW(seen, capseen, nseen + 1);
    seen[nseen++] = mn_xstrdup(w);
    const term *t = plain_slot((plain_index *)ix, w);
    if(!t->word)
      continue;
    double N = (double)ix->ndocs, n = (double)t->n;
    double idf = log(1.0 + (N - n + 0.5) / (n + 0.5));
    for(size_t i = 0; i < t->n; i++) {
      double f = t->post[i].tf;
      double dl = ix->dl[t->post[i].chunk];
      score[t->post[i].chunk] +=
        idf * f * (1.2 + 1) / (f + 1.2 * (1 - 0.75 + 0.75 * dl / ix->avgdl));
    }
  }
  for(size_t i = 0; i < nseen; i++)
    free(seen[i]);
  free(seen);
  /* partial selection: k is small */
  size_t got = 0;
  for(size_t d = 0; d < ix->ndocs; d++) {
    if(score[d] <= 0)
      continue;
    size_t p = got < k ? got++ : k;
    if(p == k && score[d] <= score[out[k - 1]])
      continue;
    if(p == k)
      p = k - 1;
    while(p > 0 && score[out[p - 1]] < score[d]) {
      out[p] = out[p - 1];
      p--;
    }
    out[p] = d;
  }
  free(score);
  return got;
}

/* ---- Settings ------------------------------------------------------------ */

typedef struct setting {
  const char *name;
  int plain;           /* the hand-written reference instead of FTS5 */
  mn_bm25_opts o;
  double neighbor;     /* add this share of the better adjacent chunk's score
                          (same filing) before ranking; 0 = off */
} setting;

typedef struct result {
  unsigned hit[NKS];       /* questions with a hit at k, all */
  unsigned hit10_half[2];  /* at k = 10, per half */
} result;

/* Does any of the first k retrieved chunks cover an evidence page? */
static int covers(const question *q, const chunking *c, const size_t *top,
                  size_t n, size_t k)
{
  for(size_t i = 0; i < n && i < k; i++) {
    const mn_chunk *ch = &c->chunks.items[top[i]];
    for(size_t j = 0; j < q->n_pages; j++)
      if(q->pages[j] >= ch->page_start && q->pages[j] <= ch->page_end)
        return 1;
  }
  return 0;
}

/* Chunk scores plus lambda times the better neighbour's, top k into out:
 * a passage whose surroundings also match (a table under its heading on
 * the chunk before) should rise. */
static size_t smooth_neighbors(const mn_bm25_hit *h, size_t nh, size_t n,
                               double lambda, size_t *out, size_t k)
{
  double *raw = mn_xcalloc(n + 1, sizeof *raw);
  double *sm = mn_xcalloc(n + 1, sizeof *sm);
  for(size_t i = 0; i < nh; i++)
    raw[h[i].index] = h[i].score;
  size_t got = 0;
  for(size_t d = 0; d < n; d++) {
    double nb = d > 0 ? raw[d - 1] : 0;
    if(d + 1 < n && raw[d + 1] > nb)
      nb = raw[d + 1];
    sm[d] = raw[d] + lambda * nb;
    if(sm[d] <= 0)
      continue;
    size_t p = got < k ? got++ : k;
    if(p == k && sm[d] <= sm[out[k - 1]])
      continue;
    if(p == k)
      p = k - 1;
    while(p > 0 && sm[out[p - 1]] < sm[d]) {
      out[p] = out[p - 1];
      p--;
    }
    out[p] = d;
  }
  free(raw);
  free(sm);
  return got;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
  if(!n)
    return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct timing {
  double *build, *query;
  size_t nb, nq, capb, capq;
} timing;

static void run_setting(const setting *s, filing *fs, size_t nf, question *qs,
                        size_t nq, int chunking_ix, result *r, timing *tm,
                        int verbose)
{
  memset(r, 0, sizeof *r);
  for(size_t f = 0; f < nf; f++) {
    chunking *c = &fs[f].ch[chunking_ix];
    plain_index pix;
    mn_bm25 *ix = NULL;
    double t0 = mn_now();
    if(s->plain) {
      plain_build(&pix, c);
    } else {
      char *err = NULL;
      if(mn_bm25_build_opts(&ix, c->texts, c->lens, c->chunks.n, &s->o, &err)) {
        fprintf(stderr, "bench_retrieval: %s\n", err ? err : "build failed");
        exit(1);
      }
    }
    if(tm) {
      MN_GROW(tm->build, tm->capb, tm->nb + 1);
      tm->build[tm->nb++] = mn_now() - t0;
    }
    for(size_t i = 0; i < nq; i++) {
      question *q = &qs[i];
      if(q->filing != f)
        continue;
      size_t top[TOP_K], n = 0;
      double t1 = mn_now();
      if(s->plain) {
        n = plain_query(&pix, q->text, TOP_K, top);
      } else {
        mn_bm25_hit *h = NULL;
        if(mn_bm25_query(ix, q->text, s->neighbor > 0 ? c->chunks.n : TOP_K,
                         &h, &n)) {
          fprintf(stderr, "bench_retrieval: %s\n", mn_bm25_errmsg(ix));
          exit(1);
        }
        if(s->neighbor > 0)
          n = smooth_neighbors(h, n, c->chunks.n, s->neighbor, top, TOP_K);
        else
          for(size_t j = 0; j < n; j++)
            top[j] = h[j].index;
        free(h);
      }
      if(tm) {
        MN_GROW(tm->query, tm->capq, tm->nq + 1);
        tm->query[tm->nq++] = mn_now() - t1;
      }
      for(size_t j = 0; j < NKS; j++)
        if(covers(q, c, top, n, KS[j]))
          r->hit[j]++;
      int h10 = covers(q, c, top, n, 10);
      r->hit10_half[q->half] += (unsigned)h10;
      if(verbose) {
        printf("  %-28s %-4s %s %s %-28s want", s->name, chunking_ix ? "page" : "1000",
               q->id, h10 ? "HIT " : "miss", q->doc);
        for(size_t j = 0; j < q->n_pages; j++)
          printf(" %d", q->pages[j]);
        printf(" got");
        for(size_t j = 0; j < n && j < 10; j++)
          printf(" %d", c->chunks.items[top[j]].page_start);
        printf("\n");
      }
    }
    if(s->plain)
      plain_free(&pix);
    mn_bm25_free(ix);
  }
}

/* ---- Main ----------------------------------------------------------------- */

static void chunk_filing(filing *f)
{
  for(int m = 0; m < 2; m++) {
    mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
    if(m == 0) {
      o.method = MN_CHUNK_SECTION;
      o.max_chars = 1000;
      o.overlap = 0;
    } else {
      o.method = MN_CHUNK_PAGE;
      o.max_chars = (size_t)1 << 30;   /* whole pages, never split */
    }
    chunking *c = &f->ch[m];
    memset(c, 0, sizeof *c);
    if(mn_chunk_text(f->text, f->len, 0, &o, &c->chunks)) {
      fprintf(stderr, "bench_retrieval: chunking %s failed\n", f->name);
      exit(1);
    }
    c->texts = mn_xcalloc(c->chunks.n + 1, sizeof *c->texts);
    c->lens = mn_xcalloc(c->chunks.n + 1, sizeof *c->lens);
    for(size_t i = 0; i < c->chunks.n; i++) {
      c->texts[i] = f->text + c->chunks.items[i].off;
      c->lens[i] = c->chunks.items[i].len;
    }
  }
}

static const char *default_datadir(void)
{
  const char *sh = getenv("MN_SHARED_DIR");
  static char buf[4096];
  if(sh && *sh) {
    snprintf(buf, sizeof buf, "%s/data/financebench", sh);
    return buf;
  }
  /* this file is <root>/main/bench/bench_retrieval.c; shared/ is <root>/shared */
  snprintf(buf, sizeof buf, "%s", __FILE__);
  for(int up = 0; up < 3; up++) {
    char *slash = strrchr(buf, '/');
    if(!slash)
      return "../shared/data/financebench";
    *slash = '\0';
  }
  strncat(buf, "/shared/data/financebench", sizeof buf - strlen(buf) - 1);
  return buf;
}

int main(int argc, char **argv)
{
  const char *datadir = default_datadir();
  const char *cachedir = NULL;
  int verbose = 0;
  for(int i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--data") && i + 1 < argc)
      datadir = argv[++i];
    else if(!strcmp(argv[i], "--cache") && i + 1 < argc)
      cachedir = argv[++i];
    else if(!strcmp(argv[i], "--verbose"))
      verbose = 1;
    else {
      fprintf(stderr, "usage: bench_retrieval [--data DIR] [--cache DIR] [--verbose]\n");
      return 2;
    }
  }
  char *cache_alloc = NULL;
  if(!cachedir) {
    const char *tmp = getenv("TMPDIR");
    cache_alloc = mn_xasprintf("%s/mn-bench-retrieval", tmp && *tmp ? tmp : "/tmp");
    cachedir = cache_alloc;
  }
  if(mkdir(cachedir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench_retrieval: %s: %s\n", cachedir, strerror(errno));
    return 1;
  }

  char *qpath = mn_xasprintf("%s/questions.jsonl", datadir);
  question *qs = NULL;
  size_t nq = load_questions(qpath, &qs);
  free(qpath);

  filing *fs = NULL;
  size_t nf = 0, capf = 0;
  double t_load = mn_now();
  for(size_t i = 0; i < nq; i++) {
    size_t f;
    for(f = 0; f < nf && strcmp(fs[f].name, qs[i].doc); f++)
      ;
    if(f == nf) {
      MN_GROW(fs, capf, nf + 1);
      memset(&fs[nf], 0, sizeof fs[nf]);
      fs[nf].name = mn_xstrdup(qs[i].doc);
      fs[nf].text = filing_text(datadir, cachedir, qs[i].doc, &fs[nf].len);
      if(!fs[nf].text)
        return 1;
      chunk_filing(&fs[nf]);
      nf++;
    }
    qs[i].filing = f;
  }
  unsigned half_n[2] = { 0, 0 };
  for(size_t i = 0; i < nq; i++)
    half_n[qs[i].half]++;
  printf("FinanceBench retrieval: %zu questions (halves %u / %u), %zu filings, "
         "texts ready in %.1f s\n\n", nq, half_n[0], half_n[1], nf, mn_now() - t_load);

  /* Rows: the reference; FTS5 from plain to the default one step at a
   * time; the default less each step; alternatives that were tried. */
  mn_bm25_opts def = MN_BM25_OPTS_INIT;
  setting settings[32];
  size_t ns = 0;
  settings[ns++] = (setting){ "plain BM25 (reference)", 1, def, 0 };
  mn_bm25_opts o = def;
  o.stem = 0; o.stop_words = 0; o.split_alnum = 0; o.word_length = 0;
  o.pair_weight = 0;
  settings[ns++] = (setting){ "fts5 plain", 0, o, 0 };
  o.stem = 1;
  settings[ns++] = (setting){ " +porter", 0, o, 0 };
  o.stop_words = 1;
  settings[ns++] = (setting){ " +stop words", 0, o, 0 };
  o.split_alnum = 1;
  settings[ns++] = (setting){ " +digits of FY2018", 0, o, 0 };
  o.word_length = 1;
  settings[ns++] = (setting){ " +length in words", 0, o, 0 };
  o.pair_weight = 1;
  settings[ns++] = (setting){ " +adjacent pairs = DEFAULT", 0, o, 0 };
  o = def; o.stem = 0;
  settings[ns++] = (setting){ "default -porter", 0, o, 0 };
  o = def; o.stop_words = 0;
  settings[ns++] = (setting){ "default -stop words", 0, o, 0 };
  o = def; o.split_alnum = 0;
  settings[ns++] = (setting){ "default -digits", 0, o, 0 };
  o = def; o.word_length = 0;
  settings[ns++] = (setting){ "default -length in words", 0, o, 0 };
  o = def; o.pair_weight = 0;
  settings[ns++] = (setting){ "default -pairs", 0, o, 0 };
  o = def; o.pair_weight = 0.5;
  settings[ns++] = (setting){ "alt: pair weight 0.5", 0, o, 0 };
  o = def; o.k1 = 0.9;
  settings[ns++] = (setting){ "alt: k1 0.9", 0, o, 0 };
  o = def; o.k1 = 1.6;
  settings[ns++] = (setting){ "alt: k1 1.6", 0, o, 0 };
  o = def; o.b = 0.5;
  settings[ns++] = (setting){ "alt: b 0.5", 0, o, 0 };
  o = def; o.b = 0.9;
  settings[ns++] = (setting){ "alt: b 0.9", 0, o, 0 };
  settings[ns++] = (setting){ "alt: +0.3 x best neighbour", 0, def, 0.3 };
  settings[ns++] = (setting){ "alt: +0.6 x best neighbour", 0, def, 0.6 };

  timing tm;
  memset(&tm, 0, sizeof tm);
  result res[2][32];
  for(int m = 0; m < 2; m++) {
    size_t nchunks = 0;
    for(size_t f = 0; f < nf; f++)
      nchunks += fs[f].ch[m].chunks.n;
    printf("%s (%zu chunks over %zu filings)\n", CHUNKING_NAME[m], nchunks, nf);
    printf("  %-28s %6s %6s %6s %6s   %9s %9s\n", "setting", "R@1", "R@5",
           "R@10", "R@20", "R@10 h0", "R@10 h1");
    for(size_t s = 0; s < ns; s++) {
      result *rp = &res[m][s];
      result r;
      int timed = m == 0 && strstr(settings[s].name, "DEFAULT") != NULL;
      run_setting(&settings[s], fs, nf, qs, nq, m, &r, timed ? &tm : NULL, verbose);
      printf("  %-28s", settings[s].name);
      for(size_t j = 0; j < NKS; j++)
        printf(" %6.1f", 100.0 * r.hit[j] / (double)nq);
      printf("   %9.1f %9.1f\n", 100.0 * r.hit10_half[0] / (half_n[0] ? half_n[0] : 1),
             100.0 * r.hit10_half[1] / (half_n[1] ? half_n[1] : 1));
      *rp = r;
    }
    printf("\n");
  }

  /* Cross-check: had we picked the FTS5 row with the best recall@10 on one
   * half (first row on ties), what would it score on the other? */
  for(int m = 0; m < 2; m++) {
    printf("selection check, %s:", CHUNKING_NAME[m]);
    for(int h = 0; h < 2; h++) {
      size_t best = 1;
      for(size_t s = 1; s < ns; s++)
        if(res[m][s].hit10_half[h] > res[m][best].hit10_half[h])
          best = s;
      printf("%s best R@10 on h%d is \"%s\" (%.1f), on h%d it gets %.1f",
             h ? ";" : "", h, settings[best].name,
             100.0 * res[m][best].hit10_half[h] / (half_n[h] ? half_n[h] : 1), !h,
             100.0 * res[m][best].hit10_half[!h] / (half_n[!h] ? half_n[!h] : 1));
    }
    printf("\n");
  }
  printf("\n");

  /* Latency of the default on 1,000-character chunks, one filing at a time. */
  double maxb = 0, maxq = 0;
  for(size_t i = 0; i < tm.nb; i++)
    maxb = tm.build[i] > maxb ? tm.build[i] : maxb;
  for(size_t i = 0; i < tm.nq; i++)
    maxq = tm.query[i] > maxq ? tm.query[i] : maxq;
  size_t maxchunks = 0, maxbytes = 0;
  for(size_t f = 0; f < nf; f++) {
    if(fs[f].ch[0].chunks.n > maxchunks)
      maxchunks = fs[f].ch[0].chunks.n;
    if(fs[f].len > maxbytes)
      maxbytes = fs[f].len;
  }
  printf("latency (DEFAULT, 1000-char chunks): index build median %.1f ms, "
         "max %.1f ms (largest filing %zu chunks, %.1f MB); query median %.2f ms, "
         "max %.2f ms\n", 1e3 * median(tm.build, tm.nb), 1e3 * maxb, maxchunks,
         maxbytes / 1e6, 1e3 * median(tm.query, tm.nq), 1e3 * maxq);

  free(tm.build);
  free(tm.query);
  for(size_t f = 0; f < nf; f++) {
    for(int m = 0; m < 2; m++) {
      mn_chunk_list_free(&fs[f].ch[m].chunks);
      free(fs[f].ch[m].texts);
      free(fs[f].ch[m].lens);
    }
    free(fs[f].name);
    free(fs[f].text);
  }
  free(fs);
  for(size_t i = 0; i < nq; i++) {
    free(qs[i].id);
    free(qs[i].doc);
    free(qs[i].text);
    free(qs[i].pages);
  }
  free(qs);
  free(cache_alloc);
  return 0;
}

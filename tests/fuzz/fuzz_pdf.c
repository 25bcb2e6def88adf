/* PDF ingestion, the part that runs in our process: what pdftotext prints.
 * pdftotext itself is a child process and is not run here; its two
 * outputs are fuzzed instead.
 *
 *  - stderr: the line chosen to explain a failure (pdf.c err_line and
 *    exit_problem, static, so this file compiles pdf.c itself with its
 *    public names renamed) must make a one-line message, also for paths
 *    with line breaks or invalid UTF-8.
 *  - stdout: the text goes into mn_docs as every PDF's does
 *    (mn_docs_add_text shares its check and repair): accepted as valid
 *    UTF-8 without NULs, or refused with a one-line message; then the page
 *    chunker over its form feeds and, for some inputs, BM25 retrieval with
 *    a query from the text (ranks in range, best first).
 *
 * Input: option byte, 2-byte stderr length, stderr bytes, stdout bytes.
 */
#include "fuzz.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define mn_pdf_extract fuzz_pdf_extract_copy
#define mn_pdf_default_parallel fuzz_pdf_default_parallel_copy
#include "doc/pdf.c"
#undef mn_pdf_extract
#undef mn_pdf_default_parallel

#include "minions.h"

/* Real wait statuses (their encoding is the system's): exit 1, SIGKILL. */
static int status_exit1, status_killed;

static int child_status(int how)
{
  pid_t pid = fork();
  if(pid == 0) {
    if(how)
      kill(getpid(), SIGKILL);
    _exit(1);
  }
  int st = 0;
  while(waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return st;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  status_exit1 = child_status(0);
  status_killed = child_status(1);
  return 0;
}

static const char *const paths[] = {
  "report.pdf", "dir/two\nlines.pdf", "bad\xff\xfe name.pdf", "-dash.pdf", "tab\there\r.pdf"
};

static void check_stderr(const char *err, size_t n, const char *path)
{
  char *line = err_line(err, n);
  fuzz_check_message("pdftotext stderr line", line);
  FUZZ_CHECK(strlen(line) <= 203, "stderr line of %zu bytes", strlen(line));
  free(line);
  child c;
  memset(&c, 0, sizeof c);
  c.err_len = n < ERR_KEEP ? n : ERR_KEEP;
  memcpy(c.err, err, c.err_len);
  int code = 0;
  char *m = exit_problem(&c, status_exit1, path, &code);
  fuzz_check_message("pdftotext failure", m);
  FUZZ_CHECK(code == MN_EPARSE, "failure code %d", code);
  free(m);
  m = exit_problem(&c, status_killed, path, &code);
  fuzz_check_message("pdftotext killed", m);
  free(m);
}

static void check_text(const char *text, size_t n, const char *path, unsigned opt)
{
  mn_docs *d = NULL;
  FUZZ_CHECK(mn_docs_new(&d) == 0, "mn_docs_new");
  int rc = mn_docs_add_text(d, path, text, n);
  if(rc) {
    FUZZ_CHECK(rc == MN_EPARSE, "add_text: %d", rc);
    fuzz_check_message("refused text", mn_docs_errmsg(d));
    FUZZ_CHECK(mn_docs_count(d) == 0, "a refused text was added");
    mn_docs_free(d);
    return;
  }
  size_t len;
  const char *t = mn_docs_text(d, 0, &len);
  FUZZ_CHECK(mn_docs_count(d) == 1 && t && t[len] == '\0', "the text was not added");
  FUZZ_CHECK(mn_utf8_valid(t, len) && !memchr(t, 0, len), "accepted text is not clean UTF-8");
  FUZZ_CHECK(len <= 3 * n, "text grew from %zu to %zu bytes", n, len);
  fuzz_check_message("document name", mn_docs_name(d, 0));

  mn_chunking how = MN_CHUNKING_INIT;
  how.method = MN_CHUNK_PAGE;
  how.max_chars = (opt & 0x0F) * 40;
  mn_chunk_info *ch = NULL;
  size_t nc = 0;
  rc = mn_docs_chunk(d, &how, &ch, &nc);
  FUZZ_CHECK(rc == 0, "page chunking failed: %s", mn_docs_errmsg(d));
  int has_ff = memchr(t, '\f', len) != NULL;
  for(size_t i = 0; i < nc; i++) {
    FUZZ_CHECK(ch[i].index == i && ch[i].doc == 0 && ch[i].offset + ch[i].length <= len &&
               ch[i].length > 0, "chunk %zu out of place", i);
    FUZZ_CHECK(ch[i].page_start <= ch[i].page_end && (ch[i].page_start >= 0) == has_ff,
               "chunk %zu: pages %d-%d", i, ch[i].page_start, ch[i].page_end);
    FUZZ_CHECK(!memchr(t + ch[i].offset, '\f', ch[i].length), "chunk %zu spans a page", i);
  }
  free(ch);

  if(opt & 0x80) {
    /* a query from the text's first words */
    size_t ql = len < 40 ? len : 40;
    char *q = fuzz_strndup(t, ql);
    size_t k = 1 + (opt >> 4 & 7);
    how.max_chars = 200;
    mn_chunk_info *hits = NULL;
    size_t nh = 0;
    rc = mn_docs_retrieve(d, &how, q, k, &hits, &nh);
    if(rc == 0) {
      FUZZ_CHECK(nh <= k, "%zu hits for k %zu", nh, k);
      for(size_t i = 0; i < nh; i++) {
        FUZZ_CHECK(hits[i].offset + hits[i].length <= len, "hit %zu out of the text", i);
        FUZZ_CHECK(i == 0 || hits[i].score <= hits[i - 1].score, "hits not best first");
      }
    } else {
      fuzz_check_message("retrieval", mn_docs_errmsg(d));
    }
    free(hits);
    free(q);
  }
  mn_docs_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = { data, size };
  unsigned opt = fuzz_byte(&in);
  size_t el;
  const char *err = fuzz_take(&in, fuzz_u16(&in) % 5000, &el);
  const char *path = paths[opt % 5];
  check_stderr(err, el, path);
  check_text((const char *)in.p, in.n, path, opt);
  return 0;
}

/* Ingestion: text files, folders, PDFs through pdftotext, UTF-8 repair,
 * caps and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc/pdf.h"
#include "util/mem.h"
#include "util/utf8.h"
#include "minions.h"
#include "testutil.h"
#include "util/time.h"

static char *pdf_dir(void)
{
  const char *shared = getenv("MN_SHARED_DIR");
  char *p = NULL;
  p = mn_xasprintf("%s/data/financebench/pdfs", shared ? shared : "/work/shared");
  return p;
}

static char *path_in(const char *dir, const char *name)
{
  char *p = NULL;
  p = mn_xasprintf("%s/%s", dir, name);
  return p;
}

static void put(const char *dir, const char *name, const char *data, size_t len)
{
  char *p = path_in(dir, name);
  assert_int_equal(mn_test_write_file(p, data, len), 0);
  free(p);
}

static void rm_rf(const char *dir)
{
  char *cmd = NULL;
  cmd = mn_xasprintf("rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
}

static size_t count_ff(const char *s, size_t n)
{
  size_t k = 0;
  for(size_t i = 0; i < n; i++)
    k += s[i] == '\f';
  return k;
}

/* Pages of a PDF according to pdfinfo. */
static int pdfinfo_pages(const char *path)
{
  char *cmd = NULL;
  cmd = mn_xasprintf("pdfinfo '%s'", path);
  FILE *f = popen(cmd, "r");
  free(cmd);
  assert_non_null(f);
  char line[512];
  int pages = -1;
  while(fgets(line, sizeof line, f))
    if(sscanf(line, "Pages: %d", &pages) == 1)
      break;
  pclose(f);
  return pages;
}

/* ---- text files ----------------------------------------------------------- */

static void text_and_markdown_read_as_is(void **state)
{
  char *dir = mn_test_tmpdir();
  const char *md = "# Title\n\nSome *markdown* with é and 😀.\n";
  put(dir, "a.md", md, strlen(md));
  put(dir, "b.txt", "plain\r\ntext\n", 12);
  mn_docs *d;
  assert_int_equal(mn_docs_new(&d), MN_OK);
  char *a = path_in(dir, "a.md"), *b = path_in(dir, "b.txt");
  assert_int_equal(mn_docs_add_path(d, a), MN_OK);
  assert_int_equal(mn_docs_add_path(d, b), MN_OK);
  assert_int_equal(mn_docs_count(d), 2);
  size_t len;
  assert_string_equal(mn_docs_text(d, 0, &len), md);
  assert_int_equal(len, strlen(md));
  assert_string_equal(mn_docs_name(d, 0), a);
  assert_memory_equal(mn_docs_text(d, 1, &len), "plain\r\ntext\n", 12);
  assert_int_equal(len, 12);
  assert_string_equal(mn_docs_name(d, 1), b);
  assert_int_equal(mn_docs_total_bytes(d), strlen(md) + 12);
  assert_null(mn_docs_text(d, 2, &len));
  assert_int_equal(len, 0);
  assert_null(mn_docs_name(d, 2));
  mn_docs_free(d);
  free(a);
  free(b);
  rm_rf(dir);
  free(dir);
}

static void missing_path_and_unsupported(void **state)
{
  mn_docs *d;
  mn_docs_new(&d);
  assert_int_equal(mn_docs_add_path(d, "/nonexistent/x.txt"), MN_ENOTFOUND);
  assert_string_equal(mn_docs_errmsg(d), "/nonexistent/x.txt: no such file or directory");
  char *dir = mn_test_tmpdir();
  put(dir, "slides.pptx", "PK\3\4", 4);
  char *p = path_in(dir, "slides.pptx");
  assert_int_equal(mn_docs_add_path(d, p), MN_EUNSUPPORTED);
  assert_non_null(strstr(mn_docs_errmsg(d), "slides.pptx: unsupported file type (.pptx)"));
  free(p);
  /* a file given by name is read whatever its extension, but must be text */
  put(dir, "blob", "\x01\x02\xff\xfe\x00\x00\x89PNG", 11);
  p = path_in(dir, "blob");
  assert_int_equal(mn_docs_add_path(d, p), MN_EPARSE);
  char *want = NULL;
  want = mn_xasprintf("%s: not UTF-8 text (binary?)", p);
  assert_string_equal(mn_docs_errmsg(d), want);
  free(want);
  free(p);
  if(getuid() != 0) {  /* root reads anything */
    put(dir, "secret.txt", "x", 1);
    p = path_in(dir, "secret.txt");
    chmod(p, 0);
    assert_int_equal(mn_docs_add_path(d, p), MN_EIO);
    assert_non_null(strstr(mn_docs_errmsg(d), "Permission denied"));
    free(p);
  }
  assert_int_equal(mn_docs_count(d), 0);
  assert_int_equal(mn_docs_add_path(d, ""), MN_EINVAL);
  mn_docs_free(d);
  rm_rf(dir);
  free(dir);
}

/* ---- UTF-8 --------------------------------------------------------------- */

static void invalid_utf8_repaired_or_rejected(void **state)
{
  mn_docs *d;
  mn_docs_new(&d);
  /* 1 bad byte in 200: repaired */
  char buf[200];
  memset(buf, 'a', sizeof buf);
  buf[100] = (char)0xFF;
  assert_int_equal(mn_docs_add_text(d, "one", buf, sizeof buf), MN_OK);
  size_t len;
  const char *t = mn_docs_text(d, 0, &len);
  assert_int_equal(len, 202);
  assert_memory_equal(t + 100, "\xEF\xBF\xBD", 3);
  assert_int_equal(t[103], 'a');
  assert_int_equal(strlen(t), len);

  /* each kind of bad sequence: each of its bytes becomes one U+FFFD */
  char big[2000];
  memset(big, 'x', sizeof big);
  memcpy(big, "\xC0\xAF|\xED\xA0\x80|\xF4\x90\x80\x80|\xE2\x82", 14);
  assert_int_equal(mn_docs_add_text(d, "kinds", big, sizeof big), MN_OK);
  t = mn_docs_text(d, 1, &len);
  const char *R = "\xEF\xBF\xBD";
  char want[200];
  snprintf(want, sizeof want, "%s%s|%s%s%s|%s%s%s%s|%s%sx", R, R, R, R, R, R, R, R, R, R, R);
  assert_memory_equal(t, want, strlen(want));
  assert_int_equal(len, 2000 + 11 * 2);

  /* valid text of every length passes untouched */
  const char *ok = "é€😀 \xF4\x8F\xBF\xBF";
  assert_int_equal(mn_docs_add_text(d, "ok", ok, strlen(ok)), MN_OK);
  assert_string_equal(mn_docs_text(d, 2, NULL), ok);

  /* 2 bad bytes in 100: 2% -> rejected */
  char bad[100];
  memset(bad, 'b', sizeof bad);
  bad[10] = (char)0x80;
  bad[50] = (char)0xFE;
  assert_int_equal(mn_docs_add_text(d, "bad.txt", bad, sizeof bad), MN_EPARSE);
  assert_string_equal(mn_docs_errmsg(d), "bad.txt: not UTF-8 text (binary?)");
  /* exactly 1% is rejected too ("under 1%"); just under passes */
  char edge[101];
  memset(edge, 'c', sizeof edge);
  edge[0] = (char)0x80;
  assert_int_equal(mn_docs_add_text(d, "edge", edge, 100), MN_EPARSE);
  assert_int_equal(mn_docs_add_text(d, "edge", edge, 101), MN_OK);
  assert_int_equal(mn_docs_count(d), 4);
  mn_docs_free(d);
}

static void nul_bytes_removed_bom_dropped(void **state)
{
  mn_docs *d;
  mn_docs_new(&d);
  assert_int_equal(mn_docs_add_text(d, "n", "ab\0cd\0", 6), MN_OK);
  size_t len;
  assert_string_equal(mn_docs_text(d, 0, &len), "abcd");
  assert_int_equal(len, 4);
  char *dir = mn_test_tmpdir();
  put(dir, "bom.txt", "\xEF\xBB\xBFhello", 8);
  char *p = path_in(dir, "bom.txt");
  assert_int_equal(mn_docs_add_path(d, p), MN_OK);
  assert_string_equal(mn_docs_text(d, 1, &len), "hello");
  assert_int_equal(mn_docs_total_bytes(d), 9);
  /* names are made printable UTF-8 too */
  assert_int_equal(mn_docs_add_text(d, "bad\xFFname\n", "x", 1), MN_OK);
  assert_string_equal(mn_docs_name(d, 2), "bad\xEF\xBF\xBDname?");
  free(p);
  rm_rf(dir);
  free(dir);
  mn_docs_free(d);
}

static void utf8_helpers(void **state)
{
  const unsigned char *s = (const unsigned char *)"\xF0\x9F\x98\x80";
  assert_int_equal(mn_utf8_seq_len(s, 4), 4);
  assert_int_equal(mn_utf8_seq_len(s, 3), 0);  /* cut short */
  assert_int_equal(mn_utf8_seq_len((const unsigned char *)"\xE0\x80\x80", 3), 0);
  assert_int_equal(mn_utf8_seq_len((const unsigned char *)"\xF0\x80\x80\x80", 4), 0);
  assert_int_equal(mn_utf8_seq_len((const unsigned char *)"\xC2\xA0", 2), 2);
  char *m = mn_utf8_printable("ab\ncd\xFF" "efgh", 10, 7);
  assert_string_equal(m, "ab?cd...");
  free(m);
  m = mn_utf8_printable("\xE2\x82\xAC\xE2\x82\xAC", 6, 4);
  assert_string_equal(m, "\xE2\x82\xAC...");
  free(m);
}

/* ---- caps ----------------------------------------------------------------- */

static void size_cap(void **state)
{
  char *dir = mn_test_tmpdir();
  put(dir, "six.txt", "123456", 6);
  put(dir, "eleven.txt", "12345678901", 11);
  mn_docs *d;
  mn_docs_new(&d);
  mn_docs_set_max_bytes(d, 10);
  char *six = path_in(dir, "six.txt"), *eleven = path_in(dir, "eleven.txt");
  assert_int_equal(mn_docs_add_path(d, eleven), MN_ELIMIT);
  char *want = NULL;
  want = mn_xasprintf("%s: documents exceed the size limit of 10 bytes", eleven);
  assert_string_equal(mn_docs_errmsg(d), want);
  free(want);
  assert_int_equal(mn_docs_add_path(d, six), MN_OK);
  assert_int_equal(mn_docs_add_path(d, six), MN_ELIMIT);  /* 12 > 10 in total */
  assert_int_equal(mn_docs_add_text(d, "four", "1234", 4), MN_OK);
  assert_int_equal(mn_docs_add_text(d, "one", "1", 1), MN_ELIMIT);
  assert_int_equal(mn_docs_total_bytes(d), 10);
  assert_int_equal(mn_docs_count(d), 2);
  /* a folder over the cap adds nothing at all */
  mn_docs_set_max_bytes(d, 14);
  assert_int_equal(mn_docs_add_path(d, dir), MN_ELIMIT);
  assert_int_equal(mn_docs_count(d), 2);
  mn_docs_set_max_bytes(d, 0);  /* no cap */
  assert_int_equal(mn_docs_add_path(d, dir), MN_OK);
  assert_int_equal(mn_docs_count(d), 4);
  mn_docs_free(d);
  free(six);
  free(eleven);
  rm_rf(dir);
  free(dir);
}

/* ---- folders --------------------------------------------------------------- */

static void folder_order_and_filtering(void **state)
{
  char *dir = mn_test_tmpdir();
  char *p;
  put(dir, "b.txt", "B", 1);
  put(dir, "a.md", "A", 1);
  put(dir, "A_upper.txt", "U", 1);
  put(dir, ".hidden.txt", "H", 1);
  p = path_in(dir, ".git");
  mkdir(p, 0755);
  free(p);
  put(dir, ".git/config.txt", "G", 1);
  p = path_in(dir, "sub");
  mkdir(p, 0755);
  free(p);
  put(dir, "sub/c.py", "print(1)\n", 9);
  put(dir, "sub/Makefile", "all:\n\techo hi\n", 14);      /* extensionless text */
  put(dir, "sub/noext_bin", "\x7f" "ELF\0\0\0\1", 8);      /* extensionless binary */
  put(dir, "bin.dat", "text but unknown ext", 20);
  put(dir, "image.png", "\x89PNG\r\n", 6);
  put(dir, "empty.txt", "", 0);
  char latin[300];
  memset(latin, 'e', sizeof latin);
  for(int i = 0; i < 10; i++)
    latin[i * 20] = (char)0xE9;                            /* Latin-1 é */
  put(dir, "latin1.txt", latin, sizeof latin);
  char *target = path_in(dir, "sub"), *link = path_in(dir, "link_dir");
  assert_int_equal(symlink(target, link), 0);              /* would loop/duplicate */
  free(target);
  free(link);
  target = path_in(dir, "a.md");
  link = path_in(dir, "link_file.txt");
  assert_int_equal(symlink(target, link), 0);
  free(target);
  free(link);
  p = path_in(dir, "sub/loop");
  assert_int_equal(symlink("..", p), 0);
  free(p);

  mn_docs *d;
  mn_docs_new(&d);
  /* a trailing slash does not double in names */
  char *slash = NULL;
  slash = mn_xasprintf("%s/", dir);
  assert_int_equal(mn_docs_add_path(d, slash), MN_OK);
  const char *names[] = { "A_upper.txt", "a.md", "b.txt", "link_file.txt", "sub/Makefile", "sub/c.py" };
  const char *texts[] = { "U", "A", "B", "A", "all:\n\techo hi\n", "print(1)\n" };
  assert_int_equal(mn_docs_count(d), 6);
  for(size_t i = 0; i < 6; i++) {
    char *want = path_in(dir, names[i]);
    assert_string_equal(mn_docs_name(d, i), want);
    assert_string_equal(mn_docs_text(d, i, NULL), texts[i]);
    free(want);
  }
  free(slash);
  mn_docs_free(d);
  rm_rf(dir);
  free(dir);
}

static void folder_without_text(void **state)
{
  char *dir = mn_test_tmpdir();
  mn_docs *d;
  mn_docs_new(&d);
  assert_int_equal(mn_docs_add_path(d, dir), MN_ENOTFOUND);
  char *want = NULL;
  want = mn_xasprintf("no text files in %s", dir);
  assert_string_equal(mn_docs_errmsg(d), want);
  put(dir, "x.bin", "\0\1\2", 3);
  put(dir, ".notes.txt", "hidden", 6);
  assert_int_equal(mn_docs_add_path(d, dir), MN_ENOTFOUND);
  assert_string_equal(mn_docs_errmsg(d), want);
  free(want);
  mn_docs_free(d);
  rm_rf(dir);
  free(dir);
}

/* ---- PDFs ------------------------------------------------------------------ */

static void pdf_pages_match_pdfinfo(void **state)
{
  char *pdfs = pdf_dir();
  const char *files[] = { "ULTABEAUTY_2023Q4_EARNINGS.pdf",
                          "FOOTLOCKER_2022_8K_dated-2022-05-20.pdf" };
  mn_docs *d;
  mn_docs_new(&d);
  for(size_t i = 0; i < 2; i++) {
    char *p = path_in(pdfs, files[i]);
    assert_int_equal(mn_docs_add_path(d, p), MN_OK);
    size_t len;
    const char *t = mn_docs_text(d, i, &len);
    assert_true(len > 1000);
    assert_string_equal(mn_docs_name(d, i), p);
    /* pdftotext ends every page with a form feed */
    int pages = pdfinfo_pages(p);
    assert_true(pages > 0);
    assert_int_equal(count_ff(t, len), (size_t)pages);
    assert_int_equal(t[len - 1], '\f');
    assert_int_equal(strlen(t), len);
    free(p);
  }
  assert_non_null(strstr(mn_docs_text(d, 0, NULL), "Ulta Beauty"));

  /* no .pdf extension: recognised by its %PDF- header */
  char *dir = mn_test_tmpdir();
  char *src = path_in(pdfs, files[1]);
  size_t n;
  char *bytes = mn_test_read_file(src, &n);
  assert_non_null(bytes);
  put(dir, "report", bytes, n);
  char *p = path_in(dir, "report");
  assert_int_equal(mn_docs_add_path(d, p), MN_OK);
  size_t l1, l2;
  const char *t1 = mn_docs_text(d, 1, &l1), *t2 = mn_docs_text(d, 2, &l2);
  assert_int_equal(l1, l2);
  assert_memory_equal(t1, t2, l1);
  free(p);
  free(bytes);
  free(src);
  rm_rf(dir);
  free(dir);
  free(pdfs);
  mn_docs_free(d);
}

static void pdf_folder_parallel_keeps_order(void **state)
{
  char *pdfs = pdf_dir();
  char *dir = mn_test_tmpdir();
  /* the big one first: with parallel children it finishes last */
  const char *files[] = { "ULTABEAUTY_2023Q4_EARNINGS.pdf", "FOOTLOCKER_2022_8K_dated-2022-05-20.pdf",
                          "FOOTLOCKER_2022_8K_dated_2022-08-19.pdf" };
  const char *links[] = { "1.pdf", "3.PDF", "4.pdf" };
  for(size_t i = 0; i < 3; i++) {
    char *src = path_in(pdfs, files[i]), *dst = path_in(dir, links[i]);
    assert_int_equal(symlink(src, dst), 0);
    free(src);
    free(dst);
  }
  put(dir, "2.txt", "between", 7);
  mn_docs *d;
  mn_docs_new(&d);
  assert_int_equal(mn_docs_add_path(d, dir), MN_OK);
  assert_int_equal(mn_docs_count(d), 4);
  const char *order[] = { "1.pdf", "2.txt", "3.PDF", "4.pdf" };
  for(size_t i = 0; i < 4; i++) {
    char *want = path_in(dir, order[i]);
    assert_string_equal(mn_docs_name(d, i), want);
    free(want);
  }
  assert_string_equal(mn_docs_text(d, 1, NULL), "between");
  /* each the same as alone */
  for(size_t i = 0; i < 3; i++) {
    mn_docs *one;
    mn_docs_new(&one);
    char *p = path_in(pdfs, files[i]);
    assert_int_equal(mn_docs_add_path(one, p), MN_OK);
    size_t la, lb;
    const char *a = mn_docs_text(one, 0, &la);
    const char *b = mn_docs_text(d, i == 0 ? 0 : i + 1, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(p);
    mn_docs_free(one);
  }
  mn_docs_free(d);
  rm_rf(dir);
  free(dir);
  free(pdfs);
}

/* The benchmark's ingestion: every filing loads, in name order, with as
 * many pages as pdfinfo counts. */
static void all_filings_load(void **state)
{
  char *pdfs = pdf_dir();
  size_t n_pdf = 0;
  DIR *dh = opendir(pdfs);
  assert_non_null(dh);
  struct dirent *de;
  while((de = readdir(dh)) != NULL) {
    size_t l = strlen(de->d_name);
    n_pdf += l > 4 && strcmp(de->d_name + l - 4, ".pdf") == 0;
  }
  closedir(dh);
  assert_true(n_pdf >= 20);
  mn_docs *d;
  mn_docs_new(&d);
  assert_int_equal(mn_docs_add_path(d, pdfs), MN_OK);
  assert_int_equal(mn_docs_count(d), n_pdf);
  size_t total = 0;
  for(size_t i = 0; i < n_pdf; i++) {
    const char *name = mn_docs_name(d, i);
    if(i)
      assert_true(strcmp(mn_docs_name(d, i - 1), name) < 0);
    size_t len;
    const char *t = mn_docs_text(d, i, &len);
    assert_int_equal(count_ff(t, len), (size_t)pdfinfo_pages(name));
    total += len;
  }
  assert_int_equal(mn_docs_total_bytes(d), total);
  mn_docs_free(d);
  free(pdfs);
}

static void broken_pdf_fails_whole_folder(void **state)
{
  char *dir = mn_test_tmpdir();
  put(dir, "a.txt", "fine", 4);
  put(dir, "b.pdf", "garbage, not a PDF\n", 19);
  mn_docs *d;
  mn_docs_new(&d);
  assert_int_equal(mn_docs_add_path(d, dir), MN_EPARSE);
  char *p = path_in(dir, "b.pdf");
  const char *msg = mn_docs_errmsg(d);
  assert_true(strncmp(msg, p, strlen(p)) == 0);
  /* poppler warns first; the line naming the error is the one kept */
  assert_non_null(strstr(msg, ": pdftotext failed (exit 1): Syntax Error"));
  assert_null(strchr(msg, '\n'));
  assert_int_equal(mn_docs_count(d), 0);
  assert_int_equal(mn_docs_total_bytes(d), 0);
  free(p);
  mn_docs_free(d);
  rm_rf(dir);
  free(dir);
}

static void pdftotext_missing(void **state)
{
  char *dir = mn_test_tmpdir();
  put(dir, "x.pdf", "%PDF-1.4\n", 9);
  char *p = path_in(dir, "x.pdf");
  char *old = strdup(getenv("PATH"));
  setenv("PATH", dir, 1);   /* a folder without pdftotext */
  mn_docs *d;
  mn_docs_new(&d);
  int rc = mn_docs_add_path(d, p);
  setenv("PATH", old, 1);
  assert_int_equal(rc, MN_EUNSUPPORTED);
  assert_string_equal(mn_docs_errmsg(d), "pdftotext not found: install poppler-utils");
  mn_docs_free(d);
  free(old);
  free(p);
  rm_rf(dir);
  free(dir);
}

/* ---- the child-process runner, with a scripted pdftotext -------------------- */

typedef struct fake_env {
  char *dir;
  char *old_path;
} fake_env;

/* Put a shell script named pdftotext first on PATH. It gets
 * "-enc UTF-8 FILE -" so FILE is $3. */
static void fake_pdftotext(fake_env *e, const char *body)
{
  e->dir = mn_test_tmpdir();
  char *script = NULL;
  script = mn_xasprintf("#!/bin/sh\n%s\n", body);
  put(e->dir, "pdftotext", script, strlen(script));
  free(script);
  char *p = path_in(e->dir, "pdftotext");
  chmod(p, 0755);
  free(p);
  e->old_path = strdup(getenv("PATH"));
  char *np = NULL;
  np = mn_xasprintf("%s:%s", e->dir, e->old_path);
  setenv("PATH", np, 1);
  free(np);
}

static void fake_done(fake_env *e)
{
  setenv("PATH", e->old_path, 1);
  free(e->old_path);
  rm_rf(e->dir);
  free(e->dir);
}

static void runner_order_with_parallel_children(void **state)
{
  fake_env e;
  /* FILE is "N": sleep N/10 s, so earlier files finish later; each child
   * notes how many children were alive when it finished */
  fake_pdftotext(&e, "d=$(dirname \"$0\"); mkdir -p \"$d/live\"; : > \"$d/live/$3\"; "
                     "sleep 0.$3; ls \"$d/live\" | wc -l >> \"$d/seen\"; rm \"$d/live/$3\"; "
                     "printf 'text of %s\\f' \"$3\"");
  const char *paths[] = { "5", "1", "3", "0", "2" };
  char *texts[5];
  size_t lens[5];
  char *msg = NULL;
  int rc = mn_pdf_extract(paths, 5, 4, 0, 10, texts, lens, &msg);
  char *seen_path = path_in(e.dir, "seen");
  char *seen = mn_test_read_file(seen_path, NULL);
  free(seen_path);
  fake_done(&e);
  assert_int_equal(rc, 0);
  assert_null(msg);
  for(size_t i = 0; i < 5; i++) {
    char want[32];
    snprintf(want, sizeof want, "text of %s\f", paths[i]);
    assert_string_equal(texts[i], want);
    assert_int_equal(lens[i], strlen(want));
    free(texts[i]);
  }
  /* children ran side by side: one of them saw others alive */
  int most = 0;
  for(char *l = seen; l && *l; l++)
    if(*l >= '0' && *l <= '9' && (l == seen || l[-1] < '0' || l[-1] > '9') && atoi(l) > most)
      most = atoi(l);
  free(seen);
  assert_true(most >= 2);
}

static void runner_timeout_kills(void **state)
{
  fake_env e;
  fake_pdftotext(&e, "printf partial; exec sleep 30");
  const char *paths[] = { "slow.pdf" };
  char *texts[1];
  size_t lens[1];
  char *msg = NULL;
  double t0 = mn_now();
  int rc = mn_pdf_extract(paths, 1, 2, 0, 0.3, texts, lens, &msg);
  double took = mn_now() - t0;
  fake_done(&e);
  assert_int_equal(rc, MN_ETIMEOUT);
  assert_string_equal(msg, "slow.pdf: pdftotext took longer than 0.3 s");
  assert_null(texts[0]);
  assert_true(took < 20.0);   /* killed, not waited for (sleep 30) */
  free(msg);
}

static void runner_output_cap_and_stderr(void **state)
{
  fake_env e;
  fake_pdftotext(&e, "if [ \"$3\" = big ]; then exec head -c 1000000 /dev/zero; fi\n"
                     "echo 'Syntax Warning: first' >&2; echo 'Command Line Error: Incorrect password' >&2; exit 3");
  const char *big[] = { "big" };
  char *texts[2];
  size_t lens[2];
  char *msg = NULL;
  int rc = mn_pdf_extract(big, 1, 2, 5000, 10, texts, lens, &msg);
  assert_int_equal(rc, MN_ELIMIT);
  assert_string_equal(msg, "big: documents exceed the size limit of 5000 bytes");
  free(msg);
  const char *locked[] = { "big", "locked.pdf" };
  rc = mn_pdf_extract(locked, 2, 2, 0, 10, texts, lens, &msg);
  fake_done(&e);
  assert_int_equal(rc, MN_EPARSE);
  assert_string_equal(msg, "locked.pdf: pdftotext failed (exit 3): Command Line Error: Incorrect password");
  assert_null(texts[0]);
  assert_null(texts[1]);
  free(msg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(text_and_markdown_read_as_is),
    cmocka_unit_test(missing_path_and_unsupported),
    cmocka_unit_test(invalid_utf8_repaired_or_rejected),
    cmocka_unit_test(nul_bytes_removed_bom_dropped),
    cmocka_unit_test(utf8_helpers),
    cmocka_unit_test(size_cap),
    cmocka_unit_test(folder_order_and_filtering),
    cmocka_unit_test(folder_without_text),
    cmocka_unit_test(pdf_pages_match_pdfinfo),
    cmocka_unit_test(pdf_folder_parallel_keeps_order),
    cmocka_unit_test(all_filings_load),
    cmocka_unit_test(broken_pdf_fails_whole_folder),
    cmocka_unit_test(pdftotext_missing),
    cmocka_unit_test(runner_order_with_parallel_children),
    cmocka_unit_test(runner_timeout_kills),
    cmocka_unit_test(runner_output_cap_and_stderr),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Documents: files, folders and PDFs read into checked UTF-8 text. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc/docs_internal.h"
#include "doc/pdf.h"
#include "util/utf8.h"
#include "minions.h"
#include "util/mem.h"

#define DEFAULT_MAX_BYTES ((size_t)512 << 20)
#define SNIFF_BYTES 8192
#define MAX_DEPTH 64           /* folder nesting; bind mounts can loop too */
#define MAX_FOLDER_FILES 100000
#define NAME_SHOW 1024         /* bytes of a path shown in a message */

typedef struct doc {
  char *name;
  char *text;
  size_t len;
} doc;

typedef struct doclist {
  doc *items;
  size_t n, cap;
} doclist;

struct mn_docs {
  doclist docs;
  size_t total;
  size_t max_bytes;            /* 0: no cap */
  char *err;
};

/* ---- small helpers ---------------------------------------------------- */

#define set_err mn_doc_set_errmsg
void mn_doc_set_errmsg(mn_docs *d, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  free(d->err);
  d->err = mn_xmalloc(n > 0 ? (size_t)n + 1 : 1);
  d->err[0] = '\0';
  if(n > 0) {
    va_start(ap, fmt);
    vsnprintf(d->err, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
}

/* Paths go into messages and names that may end up in JSON: keep them
 * valid UTF-8 on one line. */
static char *show(const char *path)
{
  return mn_utf8_printable(path, strlen(path), NAME_SHOW);
}

static int fail(mn_docs *d, int code, const char *path, const char *what)
{
  char *p = show(path);
  set_err(d, "%s: %s", p, what);
  free(p);
  return code;
}

static int fail_limit(mn_docs *d, const char *path)
{
  char *p = show(path);
  set_err(d, "%s: documents exceed the size limit of %zu bytes", p, d->max_bytes);
  free(p);
  return MN_ELIMIT;
}

static void doclist_free(doclist *l)
{
  for(size_t i = 0; i < l->n; i++) {
    free(l->items[i].name);
    free(l->items[i].text);
  }
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

/* Bytes still allowed, given `pending` bytes about to be added. */
static size_t room(const mn_docs *d, size_t pending)
{
  if(!d->max_bytes)
    return SIZE_MAX;
  size_t used = d->total + pending;
  return used >= d->max_bytes ? 0 : d->max_bytes - used;
}

static const char *extension(const char *path)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  return dot && dot != base ? dot + 1 : NULL;
}

static int in_list(const char *ext, const char *const *list)
{
  for(size_t i = 0; list[i]; i++)
    if(strcasecmp(ext, list[i]) == 0)
      return 1;
  return 0;
}

/* Extensions taken from folders: prose, markup, data and source code. */
static const char *const TEXT_EXTS[] = {
  "txt", "text", "md", "markdown", "mdx", "rst", "org", "adoc", "asciidoc",
  "tex", "bib", "csv", "tsv", "json", "jsonl", "ndjson", "yaml", "yml", "toml",
  "ini", "cfg", "conf", "xml", "html", "htm", "xhtml", "css", "scss", "less",
  "sql", "log", "srt", "vtt", "diff", "patch", "ipynb", "proto", "graphql",
  "c", "h", "cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "inl", "m", "mm",
  "py", "pyi", "pyx", "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx",
  "go", "rs", "java", "kt", "kts", "scala", "swift", "rb", "php", "pl", "pm",
  "lua", "sh", "bash", "zsh", "fish", "ps1", "bat", "r", "jl", "hs", "ml",
  "mli", "ex", "exs", "erl", "clj", "cljs", "el", "lisp", "scm", "dart", "cs",
  "fs", "vb", "groovy", "gradle", "cmake", "mk", "tf", "hcl", "nix", "zig",
  "nim", "vue", "svelte", "asm", "s", "f90", "properties", NULL
};

/* Formats that hold text but need a converter we do not have; naming them
 * beats calling them "binary". */
static const char *const UNSUPPORTED_EXTS[] = {
  "doc", "docx", "odt", "rtf", "xls", "xlsx", "ods", "ppt", "pptx", "odp",
  "epub", "pages", "numbers", "key", "zip", "gz", "tgz", "bz2", "xz", "zst",
  "7z", "rar", "tar", "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff",
  "webp", "mp3", "mp4", "wav", "mov", "exe", "dll", "so", "o", "a", NULL
};

/* Read fd to EOF, at most cap bytes. 0, MN_ELIMIT, or MN_EIO (errno set). */
static int read_fd(int fd, size_t size_hint, size_t cap, char **out, size_t *out_len)
{
  size_t bufcap = (size_hint < cap ? size_hint : cap) + 2;
  if(bufcap < 4096)
    bufcap = 4096;
  char *buf = mn_xmalloc(bufcap);
  size_t len = 0;
  for(;;) {
    if(bufcap - len < 2) {
      bufcap *= 2;
      buf = mn_xrealloc(buf, bufcap);
    }
    ssize_t r = read(fd, buf + len, bufcap - len - 1);
    if(r < 0) {
      if(errno == EINTR)
        continue;
      int e = errno;
      free(buf);
      errno = e;
      return MN_EIO;
    }
    if(r == 0)
      break;
    len += (size_t)r;
    if(len > cap) {
      free(buf);
      return MN_ELIMIT;
    }
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return 0;
}

/* ---- public basics ------------------------------------------------------ */

int mn_docs_new(mn_docs **out)
{
  if(!out)
    return MN_EINVAL;
  mn_docs *d = mn_xcalloc(1, sizeof *d);
  d->max_bytes = DEFAULT_MAX_BYTES;
  *out = d;
  return MN_OK;
}

void mn_docs_free(mn_docs *docs)
{
  if(!docs)
    return;
  doclist_free(&docs->docs);
  free(docs->err);
  free(docs);
}

size_t mn_docs_count(const mn_docs *docs)
{
  return docs ? docs->docs.n : 0;
}

const char *mn_docs_name(const mn_docs *docs, size_t i)
{
  return docs && i < docs->docs.n ? docs->docs.items[i].name : NULL;
}

const char *mn_docs_text(const mn_docs *docs, size_t i, size_t *len_out)
{
  if(!docs || i >= docs->docs.n) {
    if(len_out)
      *len_out = 0;
    return NULL;
  }
  if(len_out)
    *len_out = docs->docs.items[i].len;
  return docs->docs.items[i].text;
}

size_t mn_docs_total_bytes(const mn_docs *docs)
{
  return docs ? docs->total : 0;
}

void mn_docs_set_max_bytes(mn_docs *docs, size_t max_bytes)
{
  if(docs)
    docs->max_bytes = max_bytes;
}

const char *mn_docs_errmsg(const mn_docs *docs)
{
  return docs && docs->err ? docs->err : "";
}

/* ---- adding ------------------------------------------------------------- */

/* Check and repair raw bytes (taking ownership of raw) and append them as
 * a document to l, `pending` bytes being already queued in l. */
static int push_text(mn_docs *d, doclist *l, size_t *pending, const char *name,
                     char *raw, size_t raw_len, int owned)
{
  char *text;
  size_t len;
  if(mn_utf8_clean(raw, raw_len, &text, &len, NULL) != 0) {
    if(owned)
      free(raw);
    return fail(d, MN_EPARSE, name, "not UTF-8 text (binary?)");
  }
  if(text == raw && !owned)
    text = mn_xstrndup(raw, raw_len);
  else if(text != raw && owned)
    free(raw);
  if(len > room(d, *pending)) {
    free(text);
    return fail_limit(d, name);
  }
  MN_GROW(l->items, l->cap, l->n + 1);
  l->items[l->n].name = mn_utf8_printable(name, strlen(name), 3 * strlen(name));
  l->items[l->n].text = text;
  l->items[l->n].len = len;
  l->n++;
  *pending += len;
  return MN_OK;
}

static void commit(mn_docs *d, doclist *l, size_t pending)
{
  MN_GROW(d->docs.items, d->docs.cap, d->docs.n + l->n);
  memcpy(d->docs.items + d->docs.n, l->items, l->n * sizeof *l->items);
  d->docs.n += l->n;
  d->total += pending;
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

int mn_docs_add_text(mn_docs *docs, const char *name, const char *text, size_t len)
{
  if(!docs || !name || (!text && len))
    return MN_EINVAL;
  doclist l = { 0 };
  size_t pending = 0;
  int rc = push_text(docs, &l, &pending, name, (char *)(text ? text : ""), len, 0);
  if(rc == MN_OK)
    commit(docs, &l, pending);
  doclist_free(&l);
  return rc;
}

/* Read a text file (not PDF) at path; `pending` bytes are queued. */
static int read_text_file(mn_docs *d, const char *path, size_t pending,
                          char **out, size_t *out_len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if(fd < 0)
    return fail(d, errno == ENOENT ? MN_ENOTFOUND : MN_EIO, path,
                errno == ENOENT ? "no such file or directory" : strerror(errno));
  struct stat st;
  size_t hint = 0;
  if(fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    hint = (size_t)st.st_size;
  size_t cap = room(d, pending);
  if(hint > cap) {
    close(fd);
    return fail_limit(d, path);
  }
  int rc = read_fd(fd, hint, cap, out, out_len);
  int e = errno;
  close(fd);
  if(rc == MN_ELIMIT)
    return fail_limit(d, path);
  if(rc)
    return fail(d, MN_EIO, path, strerror(e));
  return MN_OK;
}

/* Run pdftotext over paths, append each result as a document to l. */
static int add_pdfs(mn_docs *d, doclist *l, size_t *pending, char **paths, size_t n)
{
  if(n == 0)
    return MN_OK;
  char **texts = mn_xcalloc(n, sizeof *texts);
  size_t *lens = mn_xcalloc(n, sizeof *lens);
  char *msg = NULL;
  size_t cap = room(d, *pending);
  int rc = mn_pdf_extract((const char *const *)paths, n, mn_pdf_default_parallel(),
                          cap == SIZE_MAX ? 0 : cap, MN_PDF_TIMEOUT_S, texts,
                          lens, &msg);
  if(rc) {
    set_err(d, "%s", msg);
    free(msg);
  } else {
    size_t i;
    for(i = 0; i < n && rc == MN_OK; i++) {
      rc = push_text(d, l, pending, paths[i], texts[i], lens[i], 1);
      texts[i] = NULL;
    }
    for(; i < n; i++)
      free(texts[i]);
  }
  free(texts);
  free(lens);
  return rc;
}

/* ---- folders ------------------------------------------------------------ */

enum { F_TEXT = 1, F_PDF = 2 };

typedef struct entry {
  char *path;
  int kind;
} entry;

typedef struct walk {
  mn_docs *d;
  entry *items;
  size_t n, cap;
} walk;

static int cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is an extensionless file text (F_TEXT), a PDF (F_PDF) or neither (0)?
 * Looks at its first 8 KiB: no NUL and under 1% invalid UTF-8. */
static int sniff(const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if(fd < 0)
    return 0;
  unsigned char buf[SNIFF_BYTES];
  size_t n = 0;
  while(n < sizeof buf) {
    ssize_t r = read(fd, buf + n, sizeof buf - n);
    if(r < 0 && errno == EINTR)
      continue;
    if(r <= 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  if(n >= 5 && memcmp(buf, "%PDF-", 5) == 0)
    return F_PDF;
  if(n == 0 || memchr(buf, 0, n))
    return 0;
  /* a sequence cut by the 8 KiB window is not an error */
  size_t end = n;
  if(n == sizeof buf) {
    size_t k = 0;
    while(k < 3 && end > 0 && (buf[end - 1] & 0xC0) == 0x80) {
      end--;
      k++;
    }
    if(end > 0 && buf[end - 1] >= 0xC0)
      end--;
  }
  mn_utf8_stats st;
  mn_utf8_scan((const char *)buf, end, &st);
  return st.invalid * 100 < end ? F_TEXT : 0;
}

static int classify(const char *path, const char *name)
{
  const char *ext = extension(name);
  if(!ext)
    return sniff(path);
  if(strcasecmp(ext, "pdf") == 0)
    return F_PDF;
  return in_list(ext, TEXT_EXTS) ? F_TEXT : 0;
}

static char *join(const char *dir, const char *name)
{
  size_t n = strlen(dir);
  if(n && dir[n - 1] == '/')
    return mn_xasprintf("%s%s", dir, name);
  return mn_xasprintf("%s/%s", dir, name);
}

static int walk_dir(walk *w, const char *dir, int depth)
{
  if(depth > MAX_DEPTH)
    return fail(w->d, MN_ELIMIT, dir, "folders nested too deep");
  DIR *dh = opendir(dir);
  if(!dh)
    return fail(w->d, MN_EIO, dir, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int rc = MN_OK;
  errno = 0;
  while((de = readdir(dh)) != NULL) {
    if(de->d_name[0] == '.')  /* ".", "..", and hidden entries like .git */
      continue;
    MN_GROW(names, cap, n + 1);
    names[n++] = mn_xstrdup(de->d_name);
    errno = 0;
  }
  if(errno)
    rc = fail(w->d, MN_EIO, dir, strerror(errno));
  closedir(dh);
  if(n)   /* qsort(NULL, 0) is undefined */
    qsort(names, n, sizeof *names, cmp_names);
  for(size_t i = 0; i < n && rc == MN_OK; i++) {
    char *full = join(dir, names[i]);
    struct stat st;
    if(lstat(full, &st) != 0) {
      free(full);   /* vanished meanwhile */
      continue;
    }
    if(S_ISLNK(st.st_mode)) {
      /* follow links to files only: linked folders can form loops */
      if(stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(full);
        continue;
      }
    }
    if(S_ISDIR(st.st_mode)) {
      rc = walk_dir(w, full, depth + 1);
      free(full);
      continue;
    }
    int kind = S_ISREG(st.st_mode) && st.st_size > 0 ? classify(full, names[i]) : 0;
    if(!kind) {
      free(full);
      continue;
    }
    if(w->n >= MAX_FOLDER_FILES) {
      free(full);
      char what[64];
      snprintf(what, sizeof what, "more than %d files", MAX_FOLDER_FILES);
      rc = fail(w->d, MN_ELIMIT, dir, what);
      break;
    }
    MN_GROW(w->items, w->cap, w->n + 1);
    w->items[w->n].path = full;
    w->items[w->n].kind = kind;
    w->n++;
  }
  for(size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

static int add_folder(mn_docs *d, const char *dir)
{
  walk w = { d, NULL, 0, 0 };
  doclist l = { 0 };
  size_t pending = 0;
  int rc = walk_dir(&w, dir, 0);
  if(rc == MN_OK && w.n == 0) {
    char *p = show(dir);
    set_err(d, "no text files in %s", p);
    free(p);
    rc = MN_ENOTFOUND;
  }
  /* PDFs first, all at once so pdftotext runs in parallel; then everything
   * in walk order */
  char **pdf_paths = NULL;
  size_t n_pdf = 0, pdf_cap = 0;
  for(size_t i = 0; rc == MN_OK && i < w.n; i++) {
    if(w.items[i].kind == F_PDF) {
      MN_GROW(pdf_paths, pdf_cap, n_pdf + 1);
      pdf_paths[n_pdf++] = w.items[i].path;
    }
  }
  doclist pdfs = { 0 };
  size_t pdf_bytes = 0;
  if(rc == MN_OK)
    rc = add_pdfs(d, &pdfs, &pdf_bytes, pdf_paths, n_pdf);
  pending = pdf_bytes;
  size_t next_pdf = 0;
  for(size_t i = 0; rc == MN_OK && i < w.n; i++) {
    if(w.items[i].kind == F_PDF) {
      MN_GROW(l.items, l.cap, l.n + 1);
      l.items[l.n++] = pdfs.items[next_pdf];
      memset(&pdfs.items[next_pdf], 0, sizeof(doc));
      next_pdf++;
      continue;
    }
    char *raw;
    size_t raw_len;
    /* count the PDF text not yet moved into l as well */
    rc = read_text_file(d, w.items[i].path, pending, &raw, &raw_len);
    if(rc)
      break;
    size_t before = l.n;
    size_t pend_before = pending;
    rc = push_text(d, &l, &pending, w.items[i].path, raw, raw_len, 1);
    if(rc == MN_EPARSE && l.n == before) {
      /* not UTF-8 after all: binary, skipped like any other */
      pending = pend_before;
      rc = MN_OK;
    }
  }
  if(rc == MN_OK && l.n == 0) {
    char *p = show(dir);
    set_err(d, "no text files in %s", p);
    free(p);
    rc = MN_ENOTFOUND;
  }
  if(rc == MN_OK) {
    commit(d, &l, pending);
    free(d->err);
    d->err = NULL;
  }
  doclist_free(&l);
  doclist_free(&pdfs);
  free(pdf_paths);
  for(size_t i = 0; i < w.n; i++)
    free(w.items[i].path);
  free(w.items);
  return rc;
}

/* ---- mn_docs_add_path --------------------------------------------------- */

static int is_pdf_file(const char *path, const struct stat *st)
{
  const char *ext = extension(path);
  if(ext && strcasecmp(ext, "pdf") == 0)
    return 1;
  if(!S_ISREG(st->st_mode))
    return 0;   /* a pipe cannot be peeked at, nor given to pdftotext */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if(fd < 0)
    return 0;
  char head[5];
  ssize_t r = pread(fd, head, sizeof head, 0);
  close(fd);
  return r == 5 && memcmp(head, "%PDF-", 5) == 0;
}

int mn_docs_add_path(mn_docs *docs, const char *path)
{
  if(!docs || !path || !*path) {
    if(docs)
      set_err(docs, "empty path");
    return MN_EINVAL;
  }
  struct stat st;
  if(stat(path, &st) != 0) {
    if(errno == ENOENT || errno == ENOTDIR)
      return fail(docs, MN_ENOTFOUND, path, "no such file or directory");
    return fail(docs, MN_EIO, path, strerror(errno));
  }
  if(S_ISDIR(st.st_mode))
    return add_folder(docs, path);

  doclist l = { 0 };
  size_t pending = 0;
  int rc;
  const char *ext = extension(path);
  if(is_pdf_file(path, &st)) {
    char *p = (char *)path;
    rc = add_pdfs(docs, &l, &pending, &p, 1);
  } else if(ext && in_list(ext, UNSUPPORTED_EXTS)) {
    char *p = show(path), *e = show(ext);
    set_err(docs, "%s: unsupported file type (.%s); convert it to text or PDF", p, e);
    free(p);
    free(e);
    rc = MN_EUNSUPPORTED;
  } else {
    char *raw;
    size_t raw_len;
    rc = read_text_file(docs, path, 0, &raw, &raw_len);
    if(rc == MN_OK)
      rc = push_text(docs, &l, &pending, path, raw, raw_len, 1);
  }
  if(rc == MN_OK) {
    commit(docs, &l, pending);
    free(docs->err);
    docs->err = NULL;
  }
  doclist_free(&l);
  return rc;
}

/* Reading evaluation datasets; see dataset.h. */
#include "eval/dataset.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "minions.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/utf8.h"

#define MAX_LINE_BYTES (16u << 20)
#define MAX_ITEMS 1000000u
#define MAX_CONTEXTS 1000u

static int exists(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0;
}

/* p as given when absolute, else under dir. */
static char *under(const char *dir, const char *p)
{
  if(p[0] == '/' || !dir)
    return mn_xstrdup(p);
  return mn_xasprintf("%s/%s", dir, p);
}

static void add(char ***list, size_t *n, char *s)
{
  *list = mn_xrealloc(*list, (*n + 1) * sizeof **list);
  (*list)[(*n)++] = s;
}

static void item_free(mn_eval_item *it)
{
  free(it->id);
  free(it->question);
  free(it->gold);
  for(size_t i = 0; i < it->n_paths; i++)
    free(it->paths[i]);
  free(it->paths);
  for(size_t i = 0; i < it->n_texts; i++)
    free(it->texts[i]);
  free(it->texts);
  memset(it, 0, sizeof *it);
}

/* One context entry: a string (path if it exists, else text) or an
 * object {"path"} / {"text"}. NULL or a message. */
static const char *add_context(mn_eval_item *it, const json_t *v, const char *dir)
{
  if(json_is_string(v)) {
    char *p = under(dir, json_string_value(v));
    if(exists(p)) {
      add(&it->paths, &it->n_paths, p);
    } else {
      free(p);
      add(&it->texts, &it->n_texts, mn_xstrdup(json_string_value(v)));
    }
    return NULL;
  }
  const char *path = json_is_object(v) ? mn_json_str(v, "path") : NULL;
  const char *text = json_is_object(v) ? mn_json_str(v, "text") : NULL;
  if(path && !text) {
    add(&it->paths, &it->n_paths, under(dir, path));
    return NULL;
  }
  if(text && !path) {
    add(&it->texts, &it->n_texts, mn_xstrdup(text));
    return NULL;
  }
  return "each \"context\" item must be a string, {\"path\": ...} or {\"text\": ...}";
}

/* Fill it from one line's object; NULL or what is wrong. */
static const char *read_item(mn_eval_item *it, const json_t *o, const char *dir,
                             const char *docs_dir, size_t line)
{
  if(!json_is_object(o))
    return "not a JSON object";
  const char *q = mn_json_str(o, "question");
  json_t *gold = json_object_get(o, "answer");
  if(!q || !*q)
    return "\"question\" must be a non-empty string";
  if(json_is_number(gold)) {
    it->gold = mn_xasprintf("%.15g", json_number_value(gold));
  } else if(json_is_string(gold)) {
    it->gold = mn_xstrdup(json_string_value(gold));
  } else {
    return "\"answer\" (the gold answer) must be a string or a number";
  }
  it->question = mn_xstrdup(q);
  const char *id = mn_json_str(o, "financebench_id");
  json_t *idv = json_object_get(o, "id");
  if(id)
    it->id = mn_xstrdup(id);
  else if(json_is_string(idv))
    it->id = mn_xstrdup(json_string_value(idv));
  else if(json_is_integer(idv))
    it->id = mn_xasprintf("%lld", (long long)json_integer_value(idv));
  else
    it->id = mn_xasprintf("line-%zu", line);

  const char *doc = mn_json_str(o, "doc_name");
  json_t *ctx = json_object_get(o, "context");
  if(ctx) {
    if(json_is_array(ctx)) {
      if(json_array_size(ctx) > MAX_CONTEXTS)
        return "\"context\" has more than 1000 items";
      size_t i;
      json_t *v;
      json_array_foreach(ctx, i, v) {
        const char *e = add_context(it, v, dir);
        if(e)
          return e;
      }
    } else {
      const char *e = add_context(it, ctx, dir);
      if(e)
        return e;
    }
  } else if(doc) {
    if(strchr(doc, '/') || !strcmp(doc, "..") || !*doc)
      return "\"doc_name\" must be a file name, without '/'";
    char *base = docs_dir ? mn_xstrdup(docs_dir) : under(dir, "pdfs");
    add(&it->paths, &it->n_paths, mn_xasprintf("%s/%s.pdf", base, doc));
    free(base);
  }
  if(it->n_paths + it->n_texts == 0)
    return "no documents: give \"context\" (paths or text) or FinanceBench's \"doc_name\"";
  return NULL;
}

static int by_id(const void *a, const void *b)
{
  const mn_eval_item *x = *(mn_eval_item *const *)a, *y = *(mn_eval_item *const *)b;
  int c = strcmp(x->id, y->id);
  return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Ids must be unique: results are matched to questions by them. */
static int check_ids(mn_eval_dataset *d, const char *shown, char **errmsg)
{
  if(d->n < 2)
    return MN_OK;
  mn_eval_item **ix = mn_xmalloc(d->n * sizeof *ix);
  for(size_t i = 0; i < d->n; i++)
    ix[i] = &d->items[i];
  qsort(ix, d->n, sizeof *ix, by_id);
  int rc = MN_OK;
  for(size_t i = 1; i < d->n && rc == MN_OK; i++)
    if(strcmp(ix[i - 1]->id, ix[i]->id) == 0) {
      char *idp = mn_utf8_printable(ix[i]->id, strlen(ix[i]->id), 80);
      *errmsg = mn_xasprintf("%s:%zu: id \"%s\" is already used on line %zu (ids must be unique)",
                             shown, ix[i]->line, idp, ix[i - 1]->line);
      free(idp);
      rc = MN_EPARSE;
    }
  free(ix);
  return rc;
}

int mn_eval_dataset_load(const char *path, const char *docs_dir, mn_eval_dataset *out,
                         char **errmsg)
{
  memset(out, 0, sizeof *out);
  *errmsg = NULL;
  char *shown = mn_utf8_printable(path, strlen(path), 200);
  FILE *f = fopen(path, "rb");
  if(!f) {
    int e = errno;
    *errmsg = mn_xasprintf("%s: %s", shown, strerror(e));
    free(shown);
    return e == ENOENT ? MN_ENOTFOUND : MN_EIO;
  }
  const char *slash = strrchr(path, '/');
  char *dir = slash ? mn_xstrndup(path, (size_t)(slash - path) + (slash == path)) : mn_xstrdup(".");
  mn_buf line = MN_BUF_INIT(MAX_LINE_BYTES);
  int rc = MN_OK;
  size_t lineno = 0, cap = 0;
  int c = 0;
  while(rc == MN_OK && c != EOF) {
    mn_buf_reset(&line);
    int too_long = 0;
    while((c = fgetc(f)) != EOF && c != '\n')
      if(mn_buf_putc(&line, (char)c) != 0)
        too_long = 1;
    lineno++;
    if(too_long) {
      *errmsg = mn_xasprintf("%s:%zu: line longer than 16 MiB", shown, lineno);
      rc = MN_ELIMIT;
      break;
    }
    size_t k = 0;
    while(k < line.len && (line.data[k] == ' ' || line.data[k] == '\t' || line.data[k] == '\r'))
      k++;
    if(k == line.len)
      continue;   /* blank line */
    char *jerr = NULL;
    json_t *o = mn_json_loadb(line.data, line.len, &jerr);
    if(!o) {
      *errmsg = mn_xasprintf("%s:%zu: not JSON: %s", shown, lineno, jerr ? jerr : "?");
      free(jerr);
      rc = MN_EPARSE;
      break;
    }
    if(out->n == MAX_ITEMS) {
      json_decref(o);
      *errmsg = mn_xasprintf("%s: more than %u questions", shown, MAX_ITEMS);
      rc = MN_ELIMIT;
      break;
    }
    MN_GROW(out->items, cap, out->n + 1);
    mn_eval_item *it = &out->items[out->n];
    memset(it, 0, sizeof *it);
    const char *why = read_item(it, o, dir, docs_dir, lineno);
    json_decref(o);
    if(why) {
      item_free(it);
      *errmsg = mn_xasprintf("%s:%zu: %s", shown, lineno, why);
      rc = MN_EPARSE;
      break;
    }
    it->line = lineno;
    out->n++;
  }
  if(rc == MN_OK && ferror(f)) {
    *errmsg = mn_xasprintf("%s: read error", shown);
    rc = MN_EIO;
  }
  if(rc == MN_OK)
    rc = check_ids(out, shown, errmsg);
  if(rc == MN_OK && out->n == 0) {
    *errmsg = mn_xasprintf("%s: no questions", shown);
    rc = MN_EPARSE;
  }
  fclose(f);
  mn_buf_free(&line);
  free(dir);
  free(shown);
  if(rc != MN_OK)
    mn_eval_dataset_free(out);
  return rc;
}

void mn_eval_dataset_free(mn_eval_dataset *d)
{
  for(size_t i = 0; i < d->n; i++)
    item_free(&d->items[i]);
  free(d->items);
  memset(d, 0, sizeof *d);
}

void mn_eval_dataset_keep(mn_eval_dataset *d, size_t n)
{
  while(d->n > n)
    item_free(&d->items[--d->n]);
}

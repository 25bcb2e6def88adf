/* The evaluation's summary tables and chart; see summary.h. The SVG is
 * written by hand: a scatter plot of a few points needs no library. */
#include "eval/summary.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minions.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"

typedef struct group {
  const char *protocol, *local, *remote;
  size_t n, correct, errors, scored;
  double cost, remote_tokens, local_tokens, judge_cost;
  int cost_unknown;
  uint64_t cache_hits;
  double *times;
  size_t n_times;
  double rel;             /* cost vs remote-only; < 0: none */
} group;

static const char *str_or(json_t *o, const char *k, const char *def)
{
  const char *s = mn_json_str(o, k);
  return s ? s : def;
}

static double num(json_t *v)
{
  return json_is_number(v) ? json_number_value(v) : 0;
}

static double tokens(json_t *row, const char *side)
{
  json_t *u = mn_json_path(row, side);
  return num(json_object_get(u, "prompt_tokens")) + num(json_object_get(u, "completion_tokens"));
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static size_t build_groups(json_t *const *rows, size_t n, group **out)
{
  group *g = NULL;
  size_t ng = 0, cap = 0;
  for(size_t i = 0; i < n; i++) {
    json_t *r = rows[i];
    const char *p = str_or(r, "protocol", "?"), *l = str_or(r, "local", "-"),
               *m = str_or(r, "remote", "-");
    size_t k = 0;
    while(k < ng && !(strcmp(g[k].protocol, p) == 0 && strcmp(g[k].local, l) == 0 &&
                      strcmp(g[k].remote, m) == 0))
      k++;
    if(k == ng) {
      MN_GROW(g, cap, ng + 1);
      memset(&g[ng], 0, sizeof g[ng]);
      g[ng].protocol = p;
      g[ng].local = l;
      g[ng].remote = m;
      ng++;
    }
    group *x = &g[k];
    x->n++;
    json_t *err = json_object_get(r, "error");
    if(err && !json_is_null(err))
      x->errors++;
    json_t *score = json_object_get(r, "score");
    if(json_is_integer(score) || json_is_real(score)) {
      x->scored++;
      x->correct += num(score) >= 1;
    }
    json_t *cost = json_object_get(r, "cost_usd");
    if(json_is_number(cost))
      x->cost += json_number_value(cost);
    else if(!(err && !json_is_null(err)))
      x->cost_unknown = 1;
    x->judge_cost += num(json_object_get(r, "judge_cost_usd"));
    x->remote_tokens += tokens(r, "usage.remote");
    x->local_tokens += tokens(r, "usage.local");
    x->cache_hits += (uint64_t)num(json_object_get(r, "cache_hits"));
    x->times = mn_xrealloc(x->times, (x->n_times + 1) * sizeof *x->times);
    x->times[x->n_times++] = num(json_object_get(r, "time_s"));
  }
  for(size_t k = 0; k < ng; k++) {
    g[k].rel = -1;
    if(g[k].n_times)   /* qsort(NULL, 0) is undefined */
      qsort(g[k].times, g[k].n_times, sizeof *g[k].times, cmp_double);
    for(size_t j = 0; j < ng; j++)
      if(!strcmp(g[j].protocol, "remote-only") && !strcmp(g[j].remote, g[k].remote) &&
         !g[j].cost_unknown && !g[k].cost_unknown && g[j].cost > 0)
        g[k].rel = (g[k].cost / (double)g[k].n) / (g[j].cost / (double)g[j].n);
  }
  *out = g;
  return ng;
}

static double median(const group *g)
{
  if(!g->n_times)
    return 0;
  size_t m = g->n_times / 2;
  return g->n_times % 2 ? g->times[m] : (g->times[m - 1] + g->times[m]) / 2;
}

static double accuracy(const group *g)
{
  return g->n ? 100.0 * (double)g->correct / (double)g->n : 0;
}

static double per_q(const group *g)
{
  return g->n ? g->cost / (double)g->n : 0;
}

static int write_text(const char *dir, const char *name, const mn_buf *b, char **errmsg)
{
  char *path = mn_xasprintf("%s/%s", dir, name);
  char *tmp = mn_xasprintf("%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  int ok = f && fwrite(mn_buf_str(b), 1, b->len, f) == b->len;
  if(f && fclose(f) != 0)
    ok = 0;
  if(ok && rename(tmp, path) != 0)
    ok = 0;
  if(!ok) {
    *errmsg = mn_xasprintf("%s: %s", path, strerror(errno));
    remove(tmp);
  }
  free(tmp);
  free(path);
  return ok ? MN_OK : MN_EIO;
}

static void fmt_money(char *out, size_t size, const group *g)
{
  if(g->cost_unknown)
    snprintf(out, size, "unknown");
  else
    snprintf(out, size, "%.4f", per_q(g));
}

static void fmt_rel(char *out, size_t size, const group *g)
{
  if(g->rel < 0)
    snprintf(out, size, "-");
  else
    snprintf(out, size, "%.2fx", g->rel);
}

static void markdown(mn_buf *b, const group *g, size_t ng, const mn_summary_note *note)
{
  mn_buf_puts(b, "| protocol | local | remote | questions | accuracy | errors | remote $ per "
                 "question | remote tokens per question | local tokens per question | median "
                 "latency s | cost vs remote-only | cache hits |\n"
                 "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for(size_t k = 0; k < ng; k++) {
    char money[32], rel[32];
    fmt_money(money, sizeof money, &g[k]);
    fmt_rel(rel, sizeof rel, &g[k]);
    mn_buf_printf(b, "| %s | %s | %s | %zu | %.1f%% | %zu | %s | %.0f | %.0f | %.2f | %s | %llu |\n",
                  g[k].protocol, g[k].local, g[k].remote, g[k].n, accuracy(&g[k]), g[k].errors,
                  money, g[k].remote_tokens / (double)g[k].n, g[k].local_tokens / (double)g[k].n,
                  median(&g[k]), rel, (unsigned long long)g[k].cache_hits);
  }
  if(note->budget_stop)
    mn_buf_printf(b, "\nStopped by the spend cap of $%.2f (spent $%.4f this time): not every "
                     "question of the %zu was run.\n", note->max_cost_usd, note->spend_usd,
                  note->questions);
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(mn_buf *b, const char *s)
{
  if(!strpbrk(s, ",\"\n\r")) {
    mn_buf_puts(b, s);
    return;
  }
  mn_buf_putc(b, '"');
  for(; *s; s++) {
    if(*s == '"')
      mn_buf_putc(b, '"');
    mn_buf_putc(b, *s);
  }
  mn_buf_putc(b, '"');
}

static void csv(mn_buf *b, const group *g, size_t ng)
{
  mn_buf_puts(b, "protocol,local,remote,questions,accuracy_pct,errors,remote_usd_per_question,"
                 "remote_tokens_per_question,local_tokens_per_question,median_latency_s,"
                 "cost_vs_remote_only,cache_hits\n");
  for(size_t k = 0; k < ng; k++) {
    char money[32], rel[32];
    fmt_money(money, sizeof money, &g[k]);
    snprintf(rel, sizeof rel, "%.4f", g[k].rel);
    csv_field(b, g[k].protocol);
    mn_buf_putc(b, ',');
    csv_field(b, g[k].local);
    mn_buf_putc(b, ',');
    csv_field(b, g[k].remote);
    mn_buf_printf(b, ",%zu,%.2f,%zu,%s,%.1f,%.1f,%.3f,%s,%llu\n", g[k].n, accuracy(&g[k]),
                  g[k].errors, g[k].cost_unknown ? "" : money, g[k].remote_tokens / (double)g[k].n,
                  g[k].local_tokens / (double)g[k].n, median(&g[k]), g[k].rel < 0 ? "" : rel,
                  (unsigned long long)g[k].cache_hits);
  }
}

static char *json_text(const group *g, size_t ng, const mn_summary_note *note)
{
  json_t *arr = json_array();
  for(size_t k = 0; k < ng; k++) {
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:I,s:f}",
                          "protocol", g[k].protocol, "local", g[k].local, "remote", g[k].remote,
                          "questions", (json_int_t)g[k].n, "correct", (json_int_t)g[k].correct,
                          "errors", (json_int_t)g[k].errors, "accuracy", accuracy(&g[k]) / 100,
                          "remote_tokens_per_question", g[k].remote_tokens / (double)g[k].n,
                          "local_tokens_per_question", g[k].local_tokens / (double)g[k].n,
                          "median_latency_s", median(&g[k]), "judge_usd", g[k].judge_cost,
                          "cache_hits", (json_int_t)g[k].cache_hits, "remote_usd", g[k].cost);
    json_object_set_new(o, "remote_usd_per_question",
                        g[k].cost_unknown ? json_null() : json_real(per_q(&g[k])));
    json_object_set_new(o, "cost_vs_remote_only", g[k].rel < 0 ? json_null() : json_real(g[k].rel));
    json_array_append_new(arr, o);
  }
  json_t *root = json_pack("{s:o,s:b,s:f,s:I}", "groups", arr, "budget_stop", note->budget_stop,
                           "spend_usd", note->spend_usd, "questions", (json_int_t)note->questions);
  if(note->max_cost_usd > 0)
    json_object_set_new(root, "max_cost_usd", json_real(note->max_cost_usd));
  char *t = json_dumps(root, JSON_INDENT(2));
  json_decref(root);
  return t;
}

static void xml_text(mn_buf *b, const char *s)
{
  for(; *s; s++) {
    switch(*s) {
    case '<': mn_buf_puts(b, "&lt;"); break;
    case '>': mn_buf_puts(b, "&gt;"); break;
    case '&': mn_buf_puts(b, "&amp;"); break;
    case '"': mn_buf_puts(b, "&quot;"); break;
    default: mn_buf_putc(b, *s);
    }
  }
}

static void svg(mn_buf *b, const group *g, size_t ng)
{
  static const char *const colours[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                         "#8c564b" };
  const double W = 900, H = 460, L = 80, R = 390, T = 40, B = 60;
  double xmax = 0;
  for(size_t k = 0; k < ng; k++)
    if(!g[k].cost_unknown && per_q(&g[k]) > xmax)
      xmax = per_q(&g[k]);
  xmax = xmax > 0 ? xmax * 1.15 : 0.01;
  double pw = W - L - R, ph = H - T - B;
  mn_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                   "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
                   "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                   "<text x=\"%.0f\" y=\"24\" font-size=\"15\">Accuracy against remote cost per "
                   "question</text>\n", W, H, W, H, L);
  for(int i = 0; i <= 4; i++) {
    double y = T + ph - ph * i / 4.0, x = L + pw * i / 4.0;
    mn_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n",
                  L, y, L + pw, y, L - 8, y + 4, i * 25);
    mn_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">$%.4f</text>\n",
                  x, T, x, T + ph, x, T + ph + 18, xmax * i / 4.0);
  }
  mn_buf_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                   "stroke=\"#333\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">remote $ per question</text>\n"
                   "<text x=\"18\" y=\"%.1f\" transform=\"rotate(-90 18 %.1f)\" "
                   "text-anchor=\"middle\">accuracy</text>\n",
                L, T, pw, ph, L + pw / 2, H - 14, T + ph / 2, T + ph / 2);
  for(size_t k = 0; k < ng; k++) {
    const char *c = colours[k % (sizeof colours / sizeof colours[0])];
    double x = L + (g[k].cost_unknown ? 0 : per_q(&g[k]) / xmax) * pw;
    double y = T + ph - accuracy(&g[k]) / 100 * ph;
    double ly = T + 20 + 20.0 * (double)k;
    mn_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\"/>\n", x, y, c);
    mn_buf_printf(b, "<circle cx=\"%.0f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n<text x=\"%.0f\" "
                     "y=\"%.1f\">", L + pw + 20, ly - 4, c, L + pw + 32, ly);
    xml_text(b, g[k].protocol);
    mn_buf_puts(b, " (");
    xml_text(b, strcmp(g[k].protocol, "local-only") ? g[k].remote : g[k].local);
    mn_buf_printf(b, ") %.0f%%</text>\n", accuracy(&g[k]));
  }
  mn_buf_puts(b, "</svg>\n");
}

int mn_summary_write(const char *dir, json_t *const *rows, size_t n, const mn_summary_note *note,
                     char **errmsg)
{
  group *g = NULL;
  size_t ng = build_groups(rows, n, &g);
  mn_buf b = MN_BUF_INIT(0);
  markdown(&b, g, ng, note);
  int rc = write_text(dir, "summary.md", &b, errmsg);
  if(rc == MN_OK) {
    mn_buf_reset(&b);
    csv(&b, g, ng);
    rc = write_text(dir, "summary.csv", &b, errmsg);
  }
  if(rc == MN_OK) {
    mn_buf_reset(&b);
    char *t = json_text(g, ng, note);
    mn_buf_puts(&b, t);
    mn_buf_putc(&b, '\n');
    free(t);
    rc = write_text(dir, "summary.json", &b, errmsg);
  }
  if(rc == MN_OK) {
    mn_buf_reset(&b);
    svg(&b, g, ng);
    rc = write_text(dir, "accuracy_cost.svg", &b, errmsg);
  }
  mn_buf_free(&b);
  for(size_t k = 0; k < ng; k++)
    free(g[k].times);
  free(g);
  return rc;
}

#include "doc/code.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"
#include "util/str.h"

#define DETECT_BYTES (64 * 1024)

/* ---- languages ---------------------------------------------------------- */

static const struct {
  const char *name;
  mn_code_lang lang;
} LANG_NAMES[] = {
  { "c", MN_LANG_C }, { "h", MN_LANG_C },
  { "cpp", MN_LANG_CPP }, { "c++", MN_LANG_CPP }, { "cc", MN_LANG_CPP },
  { "cxx", MN_LANG_CPP }, { "hpp", MN_LANG_CPP }, { "hh", MN_LANG_CPP },
  { "hxx", MN_LANG_CPP }, { "ipp", MN_LANG_CPP }, { "inl", MN_LANG_CPP },
  { "python", MN_LANG_PYTHON }, { "py", MN_LANG_PYTHON }, { "pyi", MN_LANG_PYTHON },
  { "javascript", MN_LANG_JS }, { "js", MN_LANG_JS }, { "mjs", MN_LANG_JS },
  { "cjs", MN_LANG_JS }, { "jsx", MN_LANG_JS },
  { "typescript", MN_LANG_TS }, { "ts", MN_LANG_TS }, { "tsx", MN_LANG_TS },
  { "mts", MN_LANG_TS }, { "cts", MN_LANG_TS },
  { "go", MN_LANG_GO }, { "golang", MN_LANG_GO },
  { "rust", MN_LANG_RUST }, { "rs", MN_LANG_RUST },
  { "java", MN_LANG_GENERIC }, { "cs", MN_LANG_GENERIC }, { "csharp", MN_LANG_GENERIC },
  { "kt", MN_LANG_GENERIC }, { "kotlin", MN_LANG_GENERIC }, { "swift", MN_LANG_GENERIC },
  { "scala", MN_LANG_GENERIC }, { "dart", MN_LANG_GENERIC }, { "php", MN_LANG_GENERIC },
  { "generic", MN_LANG_GENERIC },
};

mn_code_lang mn_code_lang_from_hint(const char *hint)
{
  if(!hint || !*hint)
    return MN_LANG_UNKNOWN;
  /* a file name: look at its extension */
  const char *base = strrchr(hint, '/');
  base = base ? base + 1 : hint;
  const char *dot = strrchr(base, '.');
  const char *name = dot && dot[1] ? dot + 1 : base;
  for(size_t i = 0; i < sizeof LANG_NAMES / sizeof LANG_NAMES[0]; i++)
    if(strcasecmp(name, LANG_NAMES[i].name) == 0)
      return LANG_NAMES[i].lang;
  return MN_LANG_UNKNOWN;
}

const char *mn_code_lang_name(mn_code_lang lang)
{
  switch(lang) {
  case MN_LANG_C: return "c";
  case MN_LANG_CPP: return "cpp";
  case MN_LANG_PYTHON: return "python";
  case MN_LANG_JS: return "javascript";
  case MN_LANG_TS: return "typescript";
  case MN_LANG_GO: return "go";
  case MN_LANG_RUST: return "rust";
  case MN_LANG_GENERIC: return "generic";
  default: return "unknown";
  }
}

static int starts(const char *s, size_t n, const char *word)
{
  size_t k = strlen(word);
  return n >= k && memcmp(s, word, k) == 0;
}

static int contains(const char *s, size_t n, const char *needle)
{
  return mn_memmem(s, n, needle, strlen(needle)) != NULL;
}

mn_code_lang mn_code_detect(const char *text, size_t len)
{
  enum { PY, C, CPP, JS, TS, GO, RS, NL };
  int sc[NL] = { 0 };
  int brace_lines = 0;
  size_t lim = len < DETECT_BYTES ? len : DETECT_BYTES, ls = 0;
  while(ls < lim) {
    const char *nl = memchr(text + ls, '\n', lim - ls);
    size_t le = nl ? (size_t)(nl - text) : lim;
    const char *l = text + ls;
    size_t n = le - ls;
    while(n && (*l == ' ' || *l == '\t')) {
      l++;
      n--;
    }
    int col0 = l == text + ls;
    size_t m = n;  /* without trailing blanks */
    while(m && (l[m - 1] == ' ' || l[m - 1] == '\t' || l[m - 1] == '\r'))
      m--;
    char last = m ? l[m - 1] : 0;
    if(last == '{' || last == ';')
      brace_lines++;
    if((starts(l, m, "def ") || starts(l, m, "async def ") || starts(l, m, "class ")) && last == ':')
      sc[PY] += 3;
    if(starts(l, m, "elif ") || starts(l, m, "except") || (starts(l, m, "from ") && contains(l, m, " import ")))
      sc[PY] += 3;
    if(col0 && starts(l, m, "import ") && last != ';' && !contains(l, m, " from "))
      sc[PY] += 1;
    if(contains(l, m, "self."))
      sc[PY] += 1;
    if(col0 && starts(l, m, "package ") && last != ';')
      sc[GO] += 5;
    if(col0 && starts(l, m, "func "))
      sc[GO] += 3;
    if(contains(l, m, ":= "))
      sc[GO] += 1;
    if(starts(l, m, "fn ") || starts(l, m, "pub fn ") || starts(l, m, "pub(crate) fn ") ||
       starts(l, m, "impl ") || starts(l, m, "impl<") || (starts(l, m, "use ") && contains(l, m, "::")))
      sc[RS] += 3;
    if(contains(l, m, "let mut ") || starts(l, m, "#[") || contains(l, m, "&mut ") || contains(l, m, "&self"))
      sc[RS] += 2;
    if(col0 && (starts(l, m, "#include") || starts(l, m, "#define") || starts(l, m, "#ifndef")))
      sc[C] += 3;
    if(starts(l, m, "typedef ") || starts(l, m, "struct ") || contains(l, m, "->") || contains(l, m, "NULL"))
      sc[C] += 1;
    if(contains(l, m, "std::") || starts(l, m, "template<") || starts(l, m, "template <") ||
       starts(l, m, "namespace ") || starts(l, m, "public:") || starts(l, m, "private:") ||
       contains(l, m, "nullptr"))
      sc[CPP] += 3;
    if(starts(l, m, "function ") || starts(l, m, "export ") || contains(l, m, "=> ") ||
       contains(l, m, "require(") || contains(l, m, "console.") ||
       (starts(l, m, "import ") && (contains(l, m, " from '") || contains(l, m, " from \""))))
      sc[JS] += 2;
    if(col0 && (starts(l, m, "const ") || starts(l, m, "let ") || starts(l, m, "var ")))
      sc[JS] += 1;
    if(contains(l, m, ": string") || contains(l, m, ": number") || starts(l, m, "interface ") ||
       starts(l, m, "export interface ") || starts(l, m, "type ") || contains(l, m, ": boolean"))
      sc[TS] += 2;
    ls = nl ? le + 1 : lim;
  }
  /* C++ and TypeScript are supersets in practice: their signs add to the
   * base language's */
  sc[CPP] += sc[C];
  sc[TS] += sc[JS] > 0 && sc[TS] > 0 ? sc[JS] : 0;
  sc[PY] -= brace_lines / 2;
  int best = C, best_sc = 0;
  static const mn_code_lang MAP[NL] = { MN_LANG_PYTHON, MN_LANG_C, MN_LANG_CPP,
                                        MN_LANG_JS, MN_LANG_TS, MN_LANG_GO, MN_LANG_RUST };
  for(int k = 0; k < NL; k++) {
    if(sc[k] > best_sc) {
      best = k;
      best_sc = sc[k];
    }
  }
  if(best_sc == 0)
    return brace_lines ? MN_LANG_C : MN_LANG_GENERIC;
  if(best == CPP && sc[CPP] == sc[C])
    best = C;  /* no C++-only sign */
  return MAP[best];
}

/* ---- segments ----------------------------------------------------------- */

/* A segment starts at `start` and runs to the next one; def says whether it
 * holds a top-level definition. */
typedef struct seg {
  size_t start;
  int def;
} seg;

typedef struct segs {
  seg *items;
  size_t n, cap;
} segs;

static void seg_push(segs *s, size_t start, int def)
{
  if(s->n && s->items[s->n - 1].start == start) {
    s->items[s->n - 1].def |= def;
    return;
  }
  MN_GROW(s->items, s->cap, s->n + 1);
  s->items[s->n].start = start;
  s->items[s->n].def = def;
  s->n++;
}

static int is_ident(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c >= 0x80;
}

/* ---- brace languages ---------------------------------------------------- */

typedef struct lexer {
  const char *t;
  size_t len;
  mn_code_lang lang;
} lexer;

/* Skip a quoted string starting at i (the quote). Strings end at an
 * unescaped quote, or at a newline unless `multiline`. Returns the index
 * after it. */
static size_t skip_quoted(const lexer *L, size_t i, char q, int multiline, int escapes)
{
  const char *t = L->t;
  size_t j = i + 1;
  while(j < L->len) {
    char c = t[j];
    if(c == '\\' && escapes) {
      j += 2;
      continue;
    }
    if(c == q)
      return j + 1;
    if(c == '\n' && !multiline)
      return j;   /* unterminated: stop at the line end */
    j++;
  }
  return L->len;
}

static size_t skip_block_comment(const lexer *L, size_t i, int nested)
{
  const char *t = L->t;
  size_t j = i + 2;
  int depth = 1;
  while(j + 1 < L->len) {
    if(t[j] == '*' && t[j + 1] == '/') {
      j += 2;
      if(--depth == 0)
        return j;
      continue;
    }
    if(nested && t[j] == '/' && t[j + 1] == '*') {
      depth++;
      j += 2;
      continue;
    }
    j++;
  }
  return L->len;
}

static size_t to_line_end(const lexer *L, size_t i)
{
  const char *nl = memchr(L->t + i, '\n', L->len - i);
  return nl ? (size_t)(nl - L->t) : L->len;
}

/* C preprocessor directive from i ('#'): to its line end, following
 * backslash continuations. Returns the index of the final '\n' (or len). */
static size_t skip_directive(const lexer *L, size_t i)
{
  for(;;) {
    size_t e = to_line_end(L, i);
    size_t k = e;
    if(k > i && L->t[k - 1] == '\r')
      k--;
    if(e < L->len && k > i && L->t[k - 1] == '\\') {
      i = e + 1;
      continue;
    }
    return e;
  }
}

/* C++ raw string R"delim( ... )delim" with i at the '"'; 0 if not one. */
static size_t skip_cpp_raw(const lexer *L, size_t i)
{
  const char *t = L->t;
  size_t d = i + 1, k = d;
  while(k < L->len && k - d <= 16 && t[k] != '(') {
    if(t[k] == ' ' || t[k] == ')' || t[k] == '\\' || t[k] == '\n' || t[k] == '"')
      return 0;
    k++;
  }
  if(k >= L->len || t[k] != '(')
    return 0;
  size_t dl = k - d;
  char close[20];
  close[0] = ')';
  memcpy(close + 1, t + d, dl);
  close[dl + 1] = '"';
  const char *e = mn_memmem(t + k + 1, L->len - k - 1, close, dl + 2);
  return e ? (size_t)(e - t) + dl + 2 : L->len;
}

/* Rust raw string r#"..."# with i at the 'r'; 0 if not one. */
static size_t skip_rust_raw(const lexer *L, size_t i)
{
  const char *t = L->t;
  size_t k = i + 1, hashes = 0;
  while(k < L->len && t[k] == '#' && hashes < 256) {
    hashes++;
    k++;
  }
  if(k >= L->len || t[k] != '"')
    return 0;
  for(size_t j = k + 1; j < L->len; j++) {
    if(t[j] != '"')
      continue;
    size_t h = 0;
    while(h < hashes && j + 1 + h < L->len && t[j + 1 + h] == '#')
      h++;
    if(h == hashes)
      return j + 1 + h;
  }
  return L->len;
}

/* Rust '\'': a char literal ('a', '\n', '\u{1F600}') or a lifetime/label
 * ('a, 'static) which is left alone. */
static size_t skip_rust_quote(const lexer *L, size_t i)
{
  const char *t = L->t;
  if(i + 1 < L->len && t[i + 1] == '\\') {
    size_t j = i + 2;
    while(j < L->len && j < i + 14 && t[j] != '\'' && t[j] != '\n')
      j++;
    return j < L->len && t[j] == '\'' ? j + 1 : i + 1;
  }
  size_t k = i + 1;
  if(k < L->len && (unsigned char)t[k] >= 0x80) {
    k++;
    while(k < L->len && ((unsigned char)t[k] & 0xC0) == 0x80)
      k++;
  } else {
    k++;
  }
  return k < L->len && t[k] == '\'' ? k + 1 : i + 1;
}

/* JavaScript regular expression literal at i ('/'); 0 if it does not end
 * on this line (then it was a division). The look is bounded so that a
 * long minified line full of slashes stays linear. */
static size_t skip_regex(const lexer *L, size_t i)
{
  const char *t = L->t;
  int cls = 0;
  size_t lim = L->len - i > 1024 ? i + 1024 : L->len;
  for(size_t j = i + 1; j < lim; j++) {
    char c = t[j];
    if(c == '\n')
      return 0;
    if(c == '\\') {
      j++;
      continue;
    }
    if(c == '[')
      cls = 1;
    else if(c == ']')
      cls = 0;
    else if(c == '/' && !cls)
      return j + 1;
  }
  return 0;
}

/* Does the statement text s[0..n) open a block we should see through
 * (namespace, extern "C", Rust mod)? */
static int transparent_block(const char *s, size_t n, mn_code_lang lang)
{
  if(lang == MN_LANG_CPP || lang == MN_LANG_C) {
    if(starts(s, n, "inline namespace") || starts(s, n, "namespace") ||
       starts(s, n, "export namespace"))
      return 1;
    if(starts(s, n, "extern \"C\""))
      return 1;
  }
  if(lang == MN_LANG_RUST) {
    if(starts(s, n, "pub(crate) mod ") || starts(s, n, "pub mod ") || starts(s, n, "mod "))
      return !contains(s, n, "test");  /* a tests module is one unit */
  }
  if(lang == MN_LANG_TS && (starts(s, n, "namespace ") || starts(s, n, "export namespace ") ||
                            starts(s, n, "declare module ")))
    return 1;
  return 0;
}

/* Does the statement s[0..n) use braces without defining anything (Rust
 * `use a::{b, c};`, JS `import { x } from "y";`)? */
static int import_braces(const char *s, size_t n)
{
  return starts(s, n, "use ") || starts(s, n, "pub use ") || starts(s, n, "pub(crate) use ") ||
         starts(s, n, "import ") || starts(s, n, "import{") || starts(s, n, "export {") ||
         starts(s, n, "export type {") || starts(s, n, "export *");
}

static void brace_segments(const char *t, size_t len, mn_code_lang lang, segs *out)
{
  lexer L = { t, len, lang };
  int preproc = lang == MN_LANG_C || lang == MN_LANG_CPP;
  int js = lang == MN_LANG_JS || lang == MN_LANG_TS;
  int rust = lang == MN_LANG_RUST;
  size_t i = 0, seg_start = 0, stmt_start = 0;
  int depth = 0, eff = 0;            /* all braces / braces that count */
  uint64_t transp = 0;               /* bit d: brace at depth d seen through */
  uint64_t neutral = 0;              /* bit d: brace at depth d in an import */
  int seg_def = 0, seg_content = 0, line_content = 0, line_closed = 0;
  int at_line_start = 1, fresh_stmt = 1;
  unsigned char prev_sig = 0;        /* last code character, for regexes */

  while(i < len) {
    unsigned char c = (unsigned char)t[i];
    if(c == '\n') {
      if(eff == 0) {
        if(line_closed) {
          seg_push(out, seg_start, 1);
          seg_start = i + 1;
          seg_def = 0;
          seg_content = 0;
        } else if(!line_content) {
          if(seg_content) {
            seg_push(out, seg_start, seg_def);
            seg_def = 0;
            seg_content = 0;
          }
          seg_start = i + 1;  /* blank lines stay with what came before */
        } else {
          seg_content = 1;
        }
      } else {
        seg_content = 1;
      }
      line_content = line_closed = 0;
      at_line_start = 1;
      i++;
      continue;
    }
    if(c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      i++;
      continue;
    }
    line_content = 1;
    if(at_line_start && preproc && c == '#') {
      i = skip_directive(&L, i);
      at_line_start = 0;
      continue;
    }
    at_line_start = 0;
    size_t j = 0;
    if(c == '/' && i + 1 < len && t[i + 1] == '/') {
      i = to_line_end(&L, i);
      continue;
    }
    if(c == '/' && i + 1 < len && t[i + 1] == '*') {
      i = skip_block_comment(&L, i, rust);
      continue;
    }
    if(fresh_stmt) {
      stmt_start = i;
      fresh_stmt = 0;
    }
    if(c == '"') {
      j = skip_quoted(&L, i, '"', rust, 1);
    } else if(c == '\'') {
      if(rust)
        j = skip_rust_quote(&L, i);
      else if(i > 0 && (unsigned char)t[i - 1] >= '0' && (unsigned char)t[i - 1] <= '9' &&
              !js && lang != MN_LANG_GO)
        j = i + 1;    /* C++14 digit separator 1'000 */
      else
        j = skip_quoted(&L, i, '\'', 0, 1);
    } else if(c == '`' && (js || lang == MN_LANG_GO)) {
      j = skip_quoted(&L, i, '`', 1, js);
    } else if(c == 'R' && lang == MN_LANG_CPP && i + 1 < len && t[i + 1] == '"' &&
              (i == 0 || !is_ident((unsigned char)t[i - 1]) || t[i - 1] == '8' ||
               t[i - 1] == 'u' || t[i - 1] == 'U' || t[i - 1] == 'L')) {
      j = skip_cpp_raw(&L, i + 1);
    } else if(c == 'r' && rust && (i == 0 || !is_ident((unsigned char)t[i - 1]) || t[i - 1] == 'b')) {
      j = skip_rust_raw(&L, i);
    } else if(c == '/' && js && (prev_sig == 0 || strchr("(,=:[!&|?{};+-*%<>~^", prev_sig))) {
      j = skip_regex(&L, i);
    } else if(c == '{') {
      if(depth < 64 && eff == 0 && transparent_block(t + stmt_start, i - stmt_start, lang)) {
        transp |= (uint64_t)1 << depth;
      } else {
        if(eff == 0) {
          if(depth < 64 && import_braces(t + stmt_start, i - stmt_start))
            neutral |= (uint64_t)1 << depth;
          else
            seg_def = 1;
        }
        eff++;
      }
      depth++;
      fresh_stmt = 1;
    } else if(c == '}') {
      if(depth > 0) {
        depth--;
        if(depth < 64 && (transp >> depth) & 1) {
          transp &= ~((uint64_t)1 << depth);
        } else if(eff > 0 && --eff == 0) {
          if(depth < 64 && (neutral >> depth) & 1)
            neutral &= ~((uint64_t)1 << depth);
          else
            line_closed = 1;
        }
      }
      fresh_stmt = 1;
    } else if(c == ';') {
      fresh_stmt = 1;
    }
    if(j > i) {
      prev_sig = '"';
      i = j;
      continue;
    }
    prev_sig = c;
    i++;
  }
  if(seg_start < len) {
    size_t k = seg_start;
    while(k < len && (t[k] == ' ' || t[k] == '\t' || t[k] == '\r' || t[k] == '\n'))
      k++;
    if(k < len)
      seg_push(out, seg_start, seg_def);
  }
}

/* ---- Python ------------------------------------------------------------- */

enum { ST_OTHER, ST_DEF, ST_DECOR, ST_COMMENT };

typedef struct stmt {
  size_t start;
  int kind;
  int blank_after;   /* a blank line follows before the next statement */
} stmt;

static void python_segments(const char *t, size_t len, segs *out)
{
  stmt *st = NULL;
  size_t ns = 0, cap = 0;
  int paren = 0, cont = 0;
  char q = 0;          /* open string quote */
  int triple = 0;
  size_t ls = 0;
  while(ls < len) {
    size_t le = ls;
    while(le < len && t[le] != '\n')
      le++;
    /* at a statement boundary? */
    if(!q && paren == 0 && !cont) {
      size_t f = ls;
      while(f < le && (t[f] == ' ' || t[f] == '\t' || t[f] == '\r' || t[f] == '\f'))
        f++;
      if(f == le) {
        if(ns)
          st[ns - 1].blank_after = 1;
      } else if(f == ls) {
        int kind = ST_OTHER;
        size_t n = le - f;
        if(t[f] == '#')
          kind = ST_COMMENT;
        else if(t[f] == '@')
          kind = ST_DECOR;
        else if(starts(t + f, n, "def ") || starts(t + f, n, "async def ") ||
                starts(t + f, n, "class ") || starts(t + f, n, "class\t"))
          kind = ST_DEF;
        MN_GROW(st, cap, ns + 1);
        st[ns].start = ls;
        st[ns].kind = kind;
        st[ns].blank_after = 0;
        ns++;
      }
    }
    /* follow strings, brackets and continuations through the line */
    cont = 0;
    size_t i = ls;
    while(i < le) {
      char c = t[i];
      if(q) {
        if(c == '\\') {
          i += 2;
          continue;
        }
        if(c == q && (!triple || (i + 2 < le && t[i + 1] == q && t[i + 2] == q))) {
          i += triple ? 3 : 1;
          q = 0;
          triple = 0;
          continue;
        }
        i++;
        continue;
      }
      if(c == '#')
        break;
      if(c == '"' || c == '\'') {
        q = c;
        triple = i + 2 < le && t[i + 1] == c && t[i + 2] == c;
        i += triple ? 3 : 1;
        continue;
      }
      if(c == '(' || c == '[' || c == '{')
        paren++;
      else if((c == ')' || c == ']' || c == '}') && paren > 0)
        paren--;
      else if(c == '\\' && i + 1 == le)
        cont = 1;
      else if(c == '\\' && i + 2 == le && t[i + 1] == '\r')
        cont = 1;
      i++;
    }
    if(i > le) /* an escape at the line end continues the string */
      cont = 1;
    if(q && !triple && !cont)
      q = 0;   /* unterminated one-line string */
    ls = le < len ? le + 1 : len;
  }

  /* definitions take the decorators and comments right above them */
  int *attached = mn_xcalloc(ns ? ns : 1, sizeof *attached);
  for(size_t k = 0; k < ns; k++) {
    if(st[k].kind != ST_DEF)
      continue;
    attached[k] = 2;   /* 2: first statement of a definition, 1: inside */
    size_t s = k;
    while(s > 0 && !attached[s - 1] &&
          (st[s - 1].kind == ST_DECOR ||
           (st[s - 1].kind == ST_COMMENT && !st[s - 1].blank_after))) {
      attached[s] = 1;
      attached[--s] = 2;
    }
  }
  int prev_def = -1;
  for(size_t k = 0; k < ns; k++) {
    size_t start = k == 0 ? 0 : st[k].start;
    if(attached[k] == 2) {
      seg_push(out, start, 1);
      prev_def = 1;
    } else if(!attached[k] && prev_def != 0) {
      seg_push(out, start, 0);
      prev_def = 0;
    }
  }
  free(attached);
  free(st);
}

/* ---- grouping ----------------------------------------------------------- */

size_t mn_code_pieces(const char *text, size_t len, mn_code_lang lang, size_t **starts_out)
{
  segs s = { NULL, 0, 0 };
  if(lang == MN_LANG_PYTHON)
    python_segments(text, len, &s);
  else
    brace_segments(text, len, lang, &s);
  if(s.n == 0 || s.items[0].start != 0) {
    /* leading blank lines belong to the first segment */
    if(s.n)
      s.items[0].start = 0;
    else
      seg_push(&s, 0, 0);
  }
  size_t *st = mn_xmalloc((s.n + 1) * sizeof *st);
  size_t n = 0;
  size_t first = s.n;
  for(size_t k = 0; k < s.n; k++) {
    if(s.items[k].def) {
      first = k;
      break;
    }
  }
  st[n++] = 0;                        /* preamble, or everything */
  if(first < s.n) {
    if(s.items[first].start > 0)
      st[n++] = s.items[first].start; /* the first definition */
    /* each later definition starts where the previous one ended, so what
     * lies between (comments, declarations) goes with the next one */
    for(size_t k = first + 1; k < s.n; k++)
      if(s.items[k - 1].def)
        st[n++] = s.items[k].start;
  }
  free(s.items);
  /* Segments start after a newline or a brace, which in invalid UTF-8 may
   * be followed by stray bytes 10xxxxxx; those go with the piece before,
   * as the chunkers count them, so no piece starts before one. */
  size_t kept = 1;
  for(size_t k = 1; k < n; k++) {
    size_t at = st[k];
    while(at < len && (text[at] & 0xC0) == 0x80)
      at++;
    if(at < len && at > st[kept - 1])
      st[kept++] = at;
  }
  n = kept;
  *starts_out = st;
  return len ? n : 0;
}

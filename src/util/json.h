/* JSON helpers on top of jansson: a lenient parser for model output, a
 * strict loader for server bodies that repairs bad UTF-8, and small getters.
 *
 * Models wrap JSON in prose and Markdown fences, use Python literals, single
 * quotes and trailing commas, and get cut off. mn_json_parse_lenient() digs
 * the intended object out of such text; it never crashes or loops on garbage
 * and its work is bounded by the input size (capped at MN_JSON_LENIENT_MAX).
 */
#ifndef MN_UTIL_JSON_H
#define MN_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/utf8.h"  /* mn_utf8_valid, mn_utf8_repair */

#include "util/buf.h"

/* Largest model output mn_json_parse_lenient() looks at. */
#define MN_JSON_LENIENT_MAX ((size_t)1 << 20)
/* Deepest nesting of objects and arrays accepted (both parsers). */
#define MN_JSON_MAX_DEPTH 64

/* The JSON object meant by a model's output `text` (len bytes, need not be
 * NUL-terminated): the last complete top-level object found in it, whether
 * bare, inside ```json fences or surrounded by prose. Accepts raw control
 * characters inside strings, 'single-quoted' and “smart-quoted” strings,
 * bare keys, Python None/True/False, trailing commas, unescaped quotes
 * inside strings when the next character cannot follow a closing quote, and
 * invalid UTF-8 (each bad byte becomes U+FFFD). Returns a new reference
 * (json_decref it), or NULL with *errmsg set to a one-line message (caller
 * frees; errmsg may be NULL). */
json_t *mn_json_parse_lenient(const char *text, size_t len, char **errmsg);

/* Strict JSON (any value) from a server body. Invalid UTF-8 bytes are
 * replaced by U+FFFD first, so a single bad byte does not lose a reply.
 * Returns a new reference, or NULL with *errmsg set ("line L column C: what",
 * caller frees; errmsg may be NULL). */
json_t *mn_json_loadb(const char *buf, size_t len, char **errmsg);

/* The value at a dotted path below `root`, e.g. "choices.0.message.content"
 * (numeric parts index arrays), or NULL. Borrowed reference. */
json_t *mn_json_path(const json_t *root, const char *path);
/* The string member `key` of object `obj` (borrowed), NULL if absent or not
 * a string. */
const char *mn_json_str(const json_t *obj, const char *key);
/* A string at a dotted path (borrowed) or NULL. */
const char *mn_json_path_str(const json_t *root, const char *path);
/* A non-negative integer at a dotted path; 0 if absent, negative or not a
 * number (reals are truncated). */
uint64_t mn_json_path_u64(const json_t *root, const char *path);

/* Skimming: the few values a caller needs from a small, hot JSON text (a
 * streamed token event) without building a tree. Only a fast path: every
 * text it declines goes to mn_json_loadb, which gives the same values or a
 * proper error. */
enum { MN_JSPAN_NONE = 0, MN_JSPAN_NULL, MN_JSPAN_FALSE, MN_JSPAN_TRUE, MN_JSPAN_NUMBER,
       MN_JSPAN_STRING, MN_JSPAN_ARRAY, MN_JSPAN_OBJECT };

typedef struct mn_json_span {
  int type;            /* MN_JSPAN_*; NONE when the path is absent */
  const char *p;       /* the value's bytes inside the text; for strings the
                          bytes between the quotes, still escaped */
  size_t len;
} mn_json_span;

/* Check that text[0..len) is one strict JSON object or array and locate the
 * values at `paths` (dotted, as mn_json_path; "" is the root; at most 16
 * paths of 8 parts) into out[i]. Returns 0, or -1 when the text is not
 * something it vouches for: invalid JSON or UTF-8, a key written with
 * escapes, a key of one of the paths given twice, nesting deeper than 32,
 * numbers with an exponent or more than 15 digits, a \u0000 escape. */
int mn_json_skim(const char *text, size_t len, const char *const *paths, size_t n_paths,
                 mn_json_span *out);
/* A number span as mn_json_path_u64 reads the same value; 0 for others. */
uint64_t mn_json_span_u64(const mn_json_span *span);
/* Append the decoded text of a string span from mn_json_skim to b; -1 if
 * that would pass b's cap (b may then hold part of it). */
int mn_json_span_append(const mn_json_span *span, mn_buf *b);

/* Append the text of v to b, byte for byte what json_dumps(v, flags |
 * JSON_ENCODE_ANY) writes, but copying strings in runs rather than a code
 * point at a time (request bodies carry whole chunks, run logs thousands of
 * them). Flags: JSON_COMPACT, JSON_INDENT(n), JSON_REAL_PRECISION(n); -1 for
 * others, if b's cap is passed, or if v holds a NaN or an infinity. */
int mn_json_write(mn_buf *b, const json_t *v, size_t flags);
/* Append s (n bytes of valid UTF-8) as mn_json_write writes a string value,
 * quotes included; -1 if that would pass b's cap. */
int mn_json_write_string(mn_buf *b, const char *s, size_t n);

/* Compact UTF-8 text of `v` (no spaces, keys in insertion order); caller
 * frees with free(). Never NULL: aborts on out-of-memory like mn_xmalloc. */
char *mn_json_dump(const json_t *v);



#endif

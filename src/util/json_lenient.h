/* A lenient JSON parser for model output.
 *
 * Models wrap JSON in prose and Markdown fences, use Python literals, single
 * quotes and trailing commas, and get cut off. mn_json_parse_lenient() digs
 * the intended object out of such text; it never crashes or loops on garbage
 * and its work is bounded by the input size (capped at MN_JSON_LENIENT_MAX).
 */
#ifndef MN_UTIL_JSON_LENIENT_H
#define MN_UTIL_JSON_LENIENT_H

#include <jansson.h>
#include <stddef.h>

/* Largest model output mn_json_parse_lenient() looks at. */
#define MN_JSON_LENIENT_MAX ((size_t)1 << 20)
/* Deepest nesting of objects and arrays accepted. */
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

#endif

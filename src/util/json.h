/* JSON helpers on top of jansson: a strict loader for server bodies that
 * repairs bad UTF-8, and small getters. Text is written by jansson itself
 * (json_dumps); the lenient parser for model output is util/json_lenient.h.
 */
#ifndef MN_UTIL_JSON_H
#define MN_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>


/* Strict JSON (any value) from a server body. Invalid UTF-8 bytes are
 * replaced by U+FFFD first, so a single bad byte does not lose a reply.
 * Returns a new reference, or NULL with *errmsg set ("line L column C: what",
 * one printable line; caller frees; errmsg may be NULL). */
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

/* Compact UTF-8 text of `v` (no spaces, keys in insertion order); caller
 * frees with free(). Never NULL: aborts on out-of-memory like mn_xmalloc. */
char *mn_json_dump(const json_t *v);

#endif

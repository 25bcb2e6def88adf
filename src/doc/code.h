/* Top-level structure of source code, for the code chunker.
 *
 * Brace languages (C, C++, JavaScript/TypeScript, Go, Rust, and Java-like
 * ones as "generic") are cut by brace depth, with strings, character
 * literals, comments, raw strings, template literals, regular expressions
 * and preprocessor lines skipped so that braces inside them do not count;
 * `namespace`, `extern "C"` and Rust `mod` blocks are seen through. Python
 * is cut by indentation, with brackets, triple-quoted strings and line
 * continuations followed. Unbalanced or odd input only makes pieces larger.
 */
#ifndef MN_DOC_CODE_H
#define MN_DOC_CODE_H

#include <stddef.h>

typedef enum mn_code_lang {
  MN_LANG_UNKNOWN = 0,
  MN_LANG_C,
  MN_LANG_CPP,
  MN_LANG_PYTHON,
  MN_LANG_JS,
  MN_LANG_TS,
  MN_LANG_GO,
  MN_LANG_RUST,
  MN_LANG_GENERIC    /* Java, C#, Kotlin, Swift...: C-like without a preprocessor */
} mn_code_lang;

/* A language name ("python", "c++", "ts"...) or a file name or path whose
 * extension names one; MN_LANG_UNKNOWN for NULL or anything else. */
mn_code_lang mn_code_lang_from_hint(const char *hint);
/* Best guess from the content (looks at the first 64 KiB); never UNKNOWN:
 * text with no sign of any language is treated as generic. */
mn_code_lang mn_code_detect(const char *text, size_t len);
const char *mn_code_lang_name(mn_code_lang lang);

/* Cut text[0..len) into pieces: the preamble (what comes before the first
 * definition), then one piece per top-level definition starting after the
 * previous one (so it carries the comments, decorators and declarations
 * before it), then what follows the last definition. *starts (malloc'd,
 * caller frees) receives the ascending start offsets; piece k runs to
 * starts[k + 1] or len. Returns the number of pieces (>= 1 when len > 0,
 * starts[0] == 0). */
size_t mn_code_pieces(const char *text, size_t len, mn_code_lang lang,
                      size_t **starts);

#endif

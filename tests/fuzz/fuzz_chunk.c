/* The chunkers (src/doc/chunk.c, and code.c through the code method) on
 * any bytes, valid UTF-8 or not, with options from the input's first bytes:
 * method, max_chars, overlap, a language hint, a chunk cap.
 *
 * Invariants (chunk.h): bad options are refused and good ones accepted; a
 * chunk is a non-blank span inside the text; no chunk starts or ends inside
 * a UTF-8 sequence, that is before a byte 10xxxxxx; chars counts its
 * characters and stays within max_chars; page numbers are those of its
 * first and last non-blank bytes; chunks come in text order without
 * overlapping (section with overlap: each starts and, when the overlap is at
 * most half a chunk, ends after the one before);
 * together they cover every non-blank byte (but stray continuation bytes
 * after a delimiter a method drops); a page chunk holds no form
 * feed; MN_ELIMIT leaves the list as it was; the same call gives the same
 * chunks.
 */
#include "fuzz.h"

#include "doc/chunk.h"
#include "minions.h"

static int is_cont(unsigned char c)
{
  return (c & 0xC0) == 0x80;
}

static int is_ws(unsigned char c)
{
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int pages_before(const unsigned char *t, size_t n, int has_ff, size_t off)
{
  if(!has_ff)
    return -1;
  int k = 0;
  for(size_t i = 0; i < off && i < n; i++)
    k += t[i] == '\f';
  return k;
}

static void check_chunks(const unsigned char *t, size_t n, const mn_chunk_opts *o,
                         const mn_chunk *c, size_t nc)
{
  int has_ff = memchr(t, '\f', n) != NULL;
  /* the page method without form feeds may fall back to sections */
  int overlapping = o->overlap && (o->method == MN_CHUNK_SECTION ||
                                   (o->method == MN_CHUNK_PAGE && !has_ff));
  unsigned char *covered = calloc(n ? n : 1, 1);
  for(size_t k = 0; k < nc; k++) {
    size_t a = c[k].off, b = c[k].off + c[k].len;
    FUZZ_CHECK(c[k].doc == 3, "chunk %zu: doc %zu", k, c[k].doc);
    FUZZ_CHECK(c[k].len > 0 && a < n && b <= n && b > a, "chunk %zu: [%zu, %zu) of %zu", k, a, b, n);
    FUZZ_CHECK(a == 0 || !is_cont(t[a]), "chunk %zu starts inside a UTF-8 sequence at %zu", k, a);
    FUZZ_CHECK(b == n || !is_cont(t[b]), "chunk %zu ends inside a UTF-8 sequence at %zu", k, b);
    size_t chars = 0, first = b, last = a;
    for(size_t i = a; i < b; i++) {
      chars += !is_cont(t[i]);
      if(!is_ws(t[i])) {
        if(first == b)
          first = i;
        last = i;
      }
      covered[i] = 1;
    }
    FUZZ_CHECK(first < b, "chunk %zu is blank", k);
    FUZZ_CHECK(c[k].chars == chars, "chunk %zu: chars %zu, counted %zu", k, c[k].chars, chars);
    if(o->max_chars)
      FUZZ_CHECK(chars <= o->max_chars, "chunk %zu: %zu chars over %zu", k, chars, o->max_chars);
    FUZZ_CHECK(c[k].page_start == pages_before(t, n, has_ff, first) &&
               c[k].page_end == pages_before(t, n, has_ff, last),
               "chunk %zu: pages %d-%d", k, c[k].page_start, c[k].page_end);
    FUZZ_CHECK(c[k].page_start == mn_page_of((const char *)t, n, first),
               "chunk %zu: mn_page_of disagrees", k);
    if(o->method == MN_CHUNK_PAGE && has_ff)
      FUZZ_CHECK(!memchr(t + a, '\f', b - a), "page chunk %zu holds a form feed", k);
    if(k) {
      size_t pa = c[k - 1].off, pb = pa + c[k - 1].len;
      /* with an overlap of at most half a chunk (all the callers allow)
       * the ends move on too; a larger one may cut at the same place again */
      if(overlapping)
        FUZZ_CHECK(a > pa && (b > pb || o->overlap * 2 > o->max_chars),
                   "chunk %zu [%zu, %zu) does not move on from [%zu, %zu)", k, a, b, pa, pb);
      else
        FUZZ_CHECK(a >= pb, "chunk %zu at %zu overlaps the one before (ends %zu)", k, a, pb);
    }
  }
  /* Stray bytes 10xxxxxx go with the character before them; the page and
   * paragraph methods drop them with a form feed or a blank line's
   * newline, the others keep every byte that is not blank. */
  int drops = o->method == MN_CHUNK_PAGE || o->method == MN_CHUNK_PARAGRAPH;
  size_t lead = n;   /* the last byte that is not 10xxxxxx, if any */
  for(size_t i = 0; i < n; i++) {
    if(!is_cont(t[i]))
      lead = i;
    int glued_to_ws = is_cont(t[i]) && lead < i && is_ws(t[lead]);
    FUZZ_CHECK(covered[i] || is_ws(t[i]) || (drops && glued_to_ws),
               "byte %zu (0x%02x) is in no chunk", i, t[i]);
  }
  free(covered);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const hints[] = { NULL, "c", "cpp", "python", "javascript",
                                       "typescript", "go", "rust", "Main.java", "x.py" };
  fuzz_in in = { data, size };
  unsigned b0 = fuzz_byte(&in);
  mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
  o.method = (mn_chunk_method)(b0 % 4);
  o.max_chars = fuzz_u16(&in) % 700;
  unsigned ov = fuzz_byte(&in);
  o.overlap = ov & 0x80 ? (ov & 0x7F) : 0;
  o.lang = hints[fuzz_byte(&in) % 10];
  o.max_chunks = (b0 & 0x10) ? 1 + (b0 >> 5) : 0;
  const unsigned char *t = in.p;
  size_t n = in.n;

  /* the list already holds a chunk: new ones are appended, and MN_ELIMIT
   * must leave it as it was */
  mn_chunk_list l = { NULL, 0, 0 };
  l.items = calloc(1, sizeof *l.items);
  l.cap = l.n = 1;
  l.items[0].off = 12345;
  int rc = mn_chunk_text((const char *)t, n, 3, &o, &l);
  int sized = o.method == MN_CHUNK_SECTION || o.method == MN_CHUNK_PARAGRAPH;
  int bad = (sized && o.max_chars == 0) || (o.overlap && o.overlap >= o.max_chars);
  if(bad) {
    FUZZ_CHECK(rc == MN_EINVAL, "bad options accepted (rc %d)", rc);
  } else if(rc == MN_ELIMIT) {
    FUZZ_CHECK(o.max_chunks && l.n == 1 && l.items[0].off == 12345,
               "MN_ELIMIT without a cap or with the list changed");
  } else {
    FUZZ_CHECK(rc == 0, "good options refused (rc %d)", rc);
    FUZZ_CHECK(l.items[0].off == 12345, "the chunk already listed was changed");
    FUZZ_CHECK(!o.max_chunks || l.n - 1 <= o.max_chunks, "%zu chunks over the cap %zu",
               l.n - 1, o.max_chunks);
    check_chunks(t, n, &o, l.items + 1, l.n - 1);
    mn_chunk_list again = { NULL, 0, 0 };
    FUZZ_CHECK(mn_chunk_text((const char *)t, n, 3, &o, &again) == 0 && again.n == l.n - 1 &&
               (again.n == 0 || !memcmp(again.items, l.items + 1, again.n * sizeof *again.items)),
               "the same call gave other chunks");
    mn_chunk_list_free(&again);
  }
  mn_chunk_list_free(&l);
  return 0;
}

/* Embedding replies (src/llm/embed.c): Ollama's {"embeddings": [[...]]}
 * and the OpenAI-compatible {"data": [{"index", "embedding"}]}.
 *
 * The reply reader is static in embed.c and only reached through an HTTP
 * round trip, so this file compiles embed.c itself (its one public
 * function renamed, so it does not clash with the library's copy) and
 * calls the transport's done callback with the fuzzed body, as the
 * transport would. Input: one option byte (wire, number of texts asked
 * for), then the body.
 *
 * Invariants: a reply is either refused with a one-line reason or gives
 * exactly `count` vectors of one size within the limit, each of unit
 * length or zero (a vector whose length overflows is kept unscaled, but
 * stays what the reply said: finite or not, it is not made up).
 */
#include "fuzz.h"

#include <math.h>

#define mn_client_embed fuzz_embed_unused_copy
#include "llm/embed.c"
#undef mn_client_embed

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = { data, size };
  unsigned opt = fuzz_byte(&in);
  embed_part e = { .ollama = opt & 1, .count = 1 + (opt >> 1) % 4 };
  mn_http_result res;
  memset(&res, 0, sizeof res);
  res.code = MN_OK;
  res.status = 200;
  res.body = fuzz_strndup(in.p, in.n);   /* the transport's bodies are terminated */
  res.body_len = in.n;
  part_done(&e, &res);
  FUZZ_CHECK(e.usage.calls == 1, "an answered request not counted");
  if(e.error) {
    fuzz_check_message("embedding reply", e.error);
    free(e.vecs);   /* vectors of a reply refused part way */
  } else {
    FUZZ_CHECK(e.vecs && e.dim >= 1 && e.dim <= EMBED_MAX_DIM, "accepted with dim %zu", e.dim);
    for(size_t i = 0; i < e.count; i++) {
      double norm = 0;
      int finite = 1;
      for(size_t k = 0; k < e.dim; k++) {
        double v = e.vecs[i * e.dim + k];
        finite &= isfinite(v) != 0;
        norm += v * v;
      }
      if(finite && isfinite(norm) && norm > 0 && norm < 1e30)
        FUZZ_CHECK(fabs(norm - 1) < 1e-3 || norm < 1e-30, "vector %zu has length^2 %g", i, norm);
    }
    free(e.vecs);
  }
  free(e.error);
  free((char *)res.body);

  /* a failed transfer: the reason is the transport's, on one line */
  embed_part f = { .ollama = 0, .count = 1 };
  mn_http_result bad;
  memset(&bad, 0, sizeof bad);
  bad.code = MN_ENET;
  bad.error = "POST http://127.0.0.1:1/embeddings: connection refused";
  part_done(&f, &bad);
  fuzz_check_message("failed embedding request", f.error);
  free(f.error);
  return 0;
}

/* What the client reads from an HTTP error reply and its headers before it
 * composes a message: the provider's own error text (mn_wire_error_text,
 * JSON of every provider, proxies' HTML pages, anything else), a
 * Retry-After value (mn_retry_after_ms), the URL as logged
 * (mn_http_url_for_log) and the key scrubbing applied to every message
 * (mn_scrub_secret).
 *
 * Invariants: the error text is NULL or one trimmed line of valid UTF-8
 * without control characters, at most ~300 bytes; Retry-After is -1 or a
 * wait, exact for plain seconds; the logged URL has no control characters,
 * no query, fragment or user:password; scrubbing never grows a message and
 * leaves no copy of the key in it.
 */
#include "fuzz.h"

#include <limits.h>

#include "llm/wire.h"
#include "net/http.h"
#include "net/retry.h"

static void check_error_text(const char *body, size_t n)
{
  char *t = mn_wire_error_text(body, n);
  if(!t) {
    return;
  }
  size_t len = strlen(t);
  fuzz_check_message("error text", t);
  FUZZ_CHECK(len <= 300 + 4 + 3, "error text of %zu bytes", len);
  FUZZ_CHECK(t[0] != ' ' && t[len - 1] != ' ', "error text not trimmed: [%s]", t);
  for(size_t i = 0; i < len; i++)
    FUZZ_CHECK((unsigned char)t[i] >= 0x20 && t[i] != 0x7F, "control byte in [%s]", t);
  free(t);
}

static void check_retry_after(const char *v)
{
  const time_t now = 1700000000;
  long ms = mn_retry_after_ms(v, now);
  FUZZ_CHECK(ms >= -1, "Retry-After %ld", ms);
  /* plain seconds (surrounding blanks allowed) are exact below the cap */
  size_t a = strspn(v, " \t"), d = strspn(v + a, "0123456789");
  if(d && d <= 12 && v[a + d + strspn(v + a + d, " \t\r\n\v\f")] == '\0')
    FUZZ_CHECK(ms == strtol(v + a, NULL, 10) * 1000, "Retry-After [%s] gave %ld", v, ms);
}

static void check_url_for_log(const char *url)
{
  char *u = mn_http_url_for_log(url);
  size_t len = strlen(u);
  FUZZ_CHECK(len <= 303, "logged URL of %zu bytes", len);
  for(size_t i = 0; i < len; i++)
    FUZZ_CHECK((unsigned char)u[i] >= 0x20 && u[i] != 0x7F, "control byte in logged URL");
  FUZZ_CHECK(!strchr(u, '#'), "fragment in logged URL [%s]", u);
  int ctl = 0;
  for(const char *c = url; *c; c++)
    ctl |= (unsigned char)*c < 0x20 || *c == 0x7F;
  if(!ctl)
    FUZZ_CHECK(!strchr(u, '?'), "query in logged URL [%s]", u);
  /* userinfo: nothing of the authority before its last '@' is kept */
  const char *sep = strstr(url, "://");
  if(sep && strcspn(url, "/?#") > (size_t)(sep - url)) {
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for(size_t i = 0; i < alen; i++)
      if(auth[i] == '@')
        at = auth + i;
    if(at && len <= 300) {
      const char *lsep = strstr(u, "://");
      FUZZ_CHECK(lsep, "scheme lost from [%s]", u);
      size_t lalen = strcspn(lsep + 3, "/");
      FUZZ_CHECK(lalen == alen - (size_t)(at + 1 - auth), "userinfo kept in [%s]", u);
    }
  }
  free(u);
}

static void check_scrub(const char *msg, const char *secret)
{
  char *m = fuzz_strndup(msg, strlen(msg));
  size_t before = strlen(m);
  mn_scrub_secret(m, secret);
  size_t after = strlen(m);
  FUZZ_CHECK(after <= before, "scrubbing grew the message from %zu to %zu", before, after);
  /* a key with stars in it may be formed anew by the "***" put in */
  if(*secret && !strchr(secret, '*'))
    FUZZ_CHECK(!strstr(m, secret), "key [%s] left in [%s]", secret, m);
  free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = { data, size };
  unsigned opt = fuzz_byte(&in);
  const char *body = (const char *)in.p;
  check_error_text(body, in.n);

  char *str = fuzz_strndup(in.p, in.n);   /* headers and URLs are C strings */
  check_retry_after(str);
  check_url_for_log(str);

  /* a key from the front of the input, scrubbed from the rest */
  size_t klen = 1 + opt % 24;
  if(klen > strlen(str))
    klen = strlen(str);
  char *key = fuzz_strndup(str, klen);
  check_scrub(str + klen, key);
  check_scrub(str, key);
  free(key);
  free(str);
  return 0;
}

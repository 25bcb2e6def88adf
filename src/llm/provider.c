/* Provider table, model specs, base URLs, error texts. */
#include <ctype.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"
#include "util/json.h"
#include "util/utf8.h"
#include "util/mem.h"

/* Each provider's capabilities, from its API reference:
 * - structured output: OpenAI, OpenRouter, Together, Mistral, Azure and the
 *   local OpenAI-compatible servers (llama.cpp, vLLM, LM Studio) take
 *   response_format json_schema; DeepSeek documents only json_object, and
 *   Groq rejects json_schema on most of its models.
 * - usage in streams: OpenAI, Azure, DeepSeek, Groq, OpenRouter and vLLM
 *   send a last chunk with the usage when asked with
 *   stream_options.include_usage; Mistral refuses that field (HTTP 422) and
 *   sends the usage in its last chunk unasked, as Together does.
 * - api.openai.com and Azure want max_completion_tokens (their reasoning
 *   models refuse max_tokens); the others know max_tokens. */
#define OPENAI_LIKE(schema_, usage_, max_field_) \
  .json_schema = (schema_), .stream_usage = (usage_), .max_tokens_field = (max_field_)
static const mn_provider PROVIDERS[] = {
  { "openai", MN_WIRE_OPENAI, "https://api.openai.com/v1", "OPENAI_BASE_URL",
    "OPENAI_API_KEY", 1, OPENAI_LIKE(1, 1, "max_completion_tokens") },
  { "azure", MN_WIRE_OPENAI, NULL, "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", 1,
    OPENAI_LIKE(1, 1, "max_completion_tokens"), .azure = 1 },
  { "together", MN_WIRE_OPENAI, "https://api.together.xyz/v1", NULL,
    "TOGETHER_API_KEY", 1, OPENAI_LIKE(1, 0, "max_tokens") },
  { "openrouter", MN_WIRE_OPENAI, "https://openrouter.ai/api/v1", NULL,
    "OPENROUTER_API_KEY", 1, OPENAI_LIKE(1, 1, "max_tokens") },
  { "groq", MN_WIRE_OPENAI, "https://api.groq.com/openai/v1", NULL,
    "GROQ_API_KEY", 1, OPENAI_LIKE(0, 1, "max_tokens") },
  /* DeepSeek serves the same API at / and /v1; /v1 keeps the OpenAI shape */
  { "deepseek", MN_WIRE_OPENAI, "https://api.deepseek.com/v1", NULL,
    "DEEPSEEK_API_KEY", 1, OPENAI_LIKE(0, 1, "max_tokens") },
  { "mistral", MN_WIRE_OPENAI, "https://api.mistral.ai/v1", NULL,
    "MISTRAL_API_KEY", 1, OPENAI_LIKE(1, 0, "max_tokens") },
  { "openai-compatible", MN_WIRE_OPENAI, "http://127.0.0.1:8080/v1",
    "OPENAI_COMPATIBLE_BASE_URL", "OPENAI_COMPATIBLE_API_KEY", 0,
    OPENAI_LIKE(1, 1, "max_tokens") },
  { "ollama", MN_WIRE_OLLAMA, "http://127.0.0.1:11434", "OLLAMA_HOST", NULL, 0,
    OPENAI_LIKE(0, 0, NULL) },
  { "anthropic", MN_WIRE_ANTHROPIC, "https://api.anthropic.com",
    "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", 1, OPENAI_LIKE(0, 0, NULL) },
  { "gemini", MN_WIRE_GEMINI, "https://generativelanguage.googleapis.com", NULL,
    "GEMINI_API_KEY", 1, OPENAI_LIKE(0, 0, NULL) },
};
#define N_PROVIDERS (sizeof PROVIDERS / sizeof PROVIDERS[0])

static const mn_provider *const ALL[] = {
  &PROVIDERS[0], &PROVIDERS[1], &PROVIDERS[2], &PROVIDERS[3], &PROVIDERS[4],
  &PROVIDERS[5], &PROVIDERS[6], &PROVIDERS[7], &PROVIDERS[8], &PROVIDERS[9],
  &PROVIDERS[10], NULL
};

_Static_assert(sizeof ALL / sizeof ALL[0] == N_PROVIDERS + 1,
               "ALL lists every provider");

const mn_provider *mn_provider_find(const char *name)
{
  if(!name)
    return NULL;
  for(size_t i = 0; i < N_PROVIDERS; i++) {
    if(strcmp(PROVIDERS[i].name, name) == 0)
      return &PROVIDERS[i];
  }
  return NULL;
}

const mn_provider *const *mn_provider_all(void)
{
  return ALL;
}

static char *known_names(void)
{
  mn_buf b = MN_BUF_INIT(0);
  for(size_t i = 0; i < N_PROVIDERS; i++)
    mn_buf_printf(&b, "%s%s", i ? ", " : "", PROVIDERS[i].name);
  return mn_buf_steal(&b, NULL);
}

#define MAX_MODEL_LEN 256

int mn_spec_parse(const char *spec, const mn_provider **prov_out,
                  char **model_out, char **errmsg)
{
  *prov_out = NULL;
  *model_out = NULL;
  *errmsg = NULL;
  if(!spec || !*spec) {
    *errmsg = mn_xstrdup("empty model spec (want PROVIDER:MODEL, e.g. ollama:llama3.2)");
    return MN_EINVAL;
  }
  const char *colon = strchr(spec, ':');
  if(!colon) {
    *errmsg = mn_xasprintf("model spec '%.100s' lacks a provider (want "
                           "PROVIDER:MODEL, e.g. openai:gpt-4o)", spec);
    return MN_EINVAL;
  }
  if(colon == spec || !colon[1]) {
    *errmsg = mn_xasprintf("model spec '%.100s' needs both a provider and a "
                           "model (PROVIDER:MODEL)", spec);
    return MN_EINVAL;
  }
  const char *model = colon + 1;
  size_t mlen = strlen(model);
  if(mlen > MAX_MODEL_LEN) {
    *errmsg = mn_xasprintf("model name in spec is longer than %d bytes", MAX_MODEL_LEN);
    return MN_EINVAL;
  }
  for(size_t i = 0; i < mlen; i++) {
    unsigned char c = (unsigned char)model[i];
    if(c <= ' ' || c == 0x7F || c == '"' || c == '\\') {
      *errmsg = mn_xasprintf("model name '%.100s' contains a space, quote or "
                             "control character", model);
      return MN_EINVAL;
    }
  }
  char *pname = mn_xstrndup(spec, (size_t)(colon - spec));
  const mn_provider *p = mn_provider_find(pname);
  if(!p) {
    char *names = known_names();
    *errmsg = mn_xasprintf("unknown provider '%.60s' in model spec (known: %s)",
                           pname, names);
    free(names);
    free(pname);
    return MN_EUNSUPPORTED;
  }
  free(pname);
  *prov_out = p;
  *model_out = mn_xstrdup(model);
  return MN_OK;
}

/* ---- Base URLs ------------------------------------------------------------ */

static int has_prefix_ci(const char *s, const char *prefix)
{
  return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* OLLAMA_HOST the way Ollama reads it: scheme optional, port 11434 when
 * no scheme is given, unspecified addresses mean this machine. */
static char *ollama_host_url(const char *v)
{
  const char *scheme = "http";
  const char *rest = v;
  const char *sep = strstr(v, "://");
  int had_scheme = 0;
  if(sep) {
    scheme = NULL;
    had_scheme = 1;
    rest = sep + 3;
  }
  const char *path = strchr(rest, '/');
  size_t hplen = path ? (size_t)(path - rest) : strlen(rest);
  char *hostport = mn_xstrndup(rest, hplen);
  char *host = hostport, *port = NULL;
  if(hostport[0] == '[') {   /* [v6]:port */
    char *close = strchr(hostport, ']');
    if(close) {
      *close = '\0';
      host = hostport + 1;
      if(close[1] == ':')
        port = close + 2;
    }
  }
  else {
    char *c = strrchr(hostport, ':');
    if(c && strchr(hostport, ':') == c) {
      *c = '\0';
      port = c + 1;
    }
  }
  if(!*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
    host = "127.0.0.1";
  int v6 = strchr(host, ':') != NULL;
  char *url;
  if(had_scheme)
    url = mn_xasprintf("%.*s%s%s%s%s%s%s", (int)(rest - v), v, v6 ? "[" : "",
                       host, v6 ? "]" : "", port && *port ? ":" : "",
                       port && *port ? port : "", path ? path : "");
  else
    url = mn_xasprintf("%s://%s%s%s:%s%s", scheme, v6 ? "[" : "", host,
                       v6 ? "]" : "", port && *port ? port : "11434",
                       path ? path : "");
  free(hostport);
  return url;
}

static void strip_suffix(char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  if(n > k && strcasecmp(s + n - k, suffix) == 0)
    s[n - k] = '\0';
}

int mn_base_url(const mn_provider *p, const char *given, char **out, char **errmsg)
{
  const char *src = given;
  const char *what = "URL";
  char *url;
  *out = NULL;
  *errmsg = NULL;
  if(!src && p->url_env) {
    const char *e = getenv(p->url_env);
    if(e && *e) {
      src = e;
      what = p->url_env;
    }
  }
  if(!src && !p->default_url) {
    *errmsg = mn_xasprintf("%s needs its endpoint: set %s (https://RESOURCE.openai.azure.com) "
                           "or give the URL", p->name, p->url_env);
    return MN_EINVAL;
  }
  if(!src) {
    *out = mn_xstrdup(p->default_url);
    return MN_OK;
  }
  /* trim surrounding blanks */
  while(*src == ' ' || *src == '\t')
    src++;
  size_t n = strlen(src);
  while(n && (src[n - 1] == ' ' || src[n - 1] == '\t' || src[n - 1] == '\n' ||
              src[n - 1] == '\r'))
    n--;
  url = mn_xstrndup(src, n);
  if(p->wire == MN_WIRE_OLLAMA && src != given) {
    char *u = ollama_host_url(url);
    free(url);
    url = u;
  }
  int scheme_len = has_prefix_ci(url, "http://") ? 7 : has_prefix_ci(url, "https://") ? 8 : 0;
  if(!scheme_len) {
    *errmsg = mn_xasprintf("%s '%.200s' for %s is not an http:// or https:// URL",
                           what, url, p->name);
    free(url);
    return MN_EINVAL;
  }
  for(const char *c = url; *c; c++) {
    if((unsigned char)*c <= ' ' || *c == 0x7F) {
      *errmsg = mn_xasprintf("%s for %s contains a space or control character",
                             what, p->name);
      free(url);
      return MN_EINVAL;
    }
  }
  const char *host = url + scheme_len;
  if(!*host || *host == '/' || *host == '?' || *host == '#') {
    *errmsg = mn_xasprintf("%s '%.200s' for %s has no host", what, url, p->name);
    free(url);
    return MN_EINVAL;
  }
  if(strchr(url, '?') || strchr(url, '#')) {
    *errmsg = mn_xasprintf("%s '%.200s' for %s must not have a query or fragment",
                           what, url, p->name);
    free(url);
    return MN_EINVAL;
  }
  n = strlen(url);
  while(n > (size_t)scheme_len && url[n - 1] == '/')
    url[--n] = '\0';
  int has_path = strchr(host, '/') != NULL;
  if(p->azure)
    strip_suffix(url, "/openai");   /* we add /openai/deployments/... */
  else if(p->wire == MN_WIRE_OPENAI && !has_path) {
    char *u = mn_xasprintf("%s/v1", url);
    free(url);
    url = u;
  }
  else if(p->wire == MN_WIRE_ANTHROPIC)
    strip_suffix(url, "/v1");
  else if(p->wire == MN_WIRE_GEMINI)
    strip_suffix(url, "/v1beta");
  *out = url;
  return MN_OK;
}

/* Model names go into Gemini's URL path: escape all but unreserved bytes. */
static void put_escaped(mn_buf *b, const char *s)
{
  for(; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if(isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
      mn_buf_putc(b, (char)c);
    else
      mn_buf_printf(b, "%%%02X", c);
  }
}

const char *mn_azure_api_version(void)
{
  const char *v = getenv("AZURE_OPENAI_API_VERSION");
  if(!v || !*v || strlen(v) > 40)
    return MN_AZURE_API_VERSION;
  for(const char *c = v; *c; c++)
    if(!isalnum((unsigned char)*c) && *c != '-')
      return MN_AZURE_API_VERSION;   /* it goes into the URL as it is */
  return v;
}

char *mn_wire_url(const mn_provider *p, const char *model, const char *base,
                  int stream)
{
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_puts(&b, base);
  switch(p->wire) {
  case MN_WIRE_OPENAI:
    if(p->azure) {
      mn_buf_puts(&b, "/openai/deployments/");
      put_escaped(&b, model);
      mn_buf_printf(&b, "/chat/completions?api-version=%s", mn_azure_api_version());
    }
    else
      mn_buf_puts(&b, "/chat/completions");
    break;
  case MN_WIRE_OLLAMA:
    mn_buf_puts(&b, "/api/chat");
    break;
  case MN_WIRE_ANTHROPIC:
    mn_buf_puts(&b, "/v1/messages");
    break;
  case MN_WIRE_GEMINI:
    mn_buf_puts(&b, "/v1beta/models/");
    if(strncmp(model, "models/", 7) == 0)
      model += 7;
    put_escaped(&b, model);
    mn_buf_puts(&b, stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    break;
  }
  return mn_buf_steal(&b, NULL);
}

/* ---- Error texts and finish reasons --------------------------------------- */

#define ERROR_TEXT_MAX 300

/* One line: control characters become spaces, runs of blanks collapse, at
 * most ERROR_TEXT_MAX bytes cut at a character boundary. */
static char *one_line(const char *s, size_t len)
{
  char *fixed = mn_utf8_repair(s, len, &len);
  mn_buf b = MN_BUF_INIT(0);
  int space = 1;
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)fixed[i];
    if(c < ' ' || c == 0x7F || c == ' ') {
      if(!space)
        mn_buf_putc(&b, ' ');
      space = 1;
      continue;
    }
    if(b.len >= ERROR_TEXT_MAX && (c & 0xC0) != 0x80) {
      mn_buf_puts(&b, "...");
      break;
    }
    mn_buf_putc(&b, (char)c);
    space = 0;
  }
  free(fixed);
  while(b.len && b.data[b.len - 1] == ' ')
    b.data[--b.len] = '\0';
  return mn_buf_steal(&b, NULL);
}

/* needle (lower case) in the n bytes at s, ASCII case ignored; NULL if none */
static const char *find_ci(const char *s, size_t n, const char *needle)
{
  size_t m = strlen(needle);
  for(size_t i = 0; i + m <= n; i++) {
    size_t k = 0;
    while(k < m && tolower((unsigned char)s[i + k]) == needle[k])
      k++;
    if(k == m)
      return s + i;
  }
  return NULL;
}

char *mn_wire_error_text(const char *body, size_t len)
{
  if(!body || !len)
    return NULL;
  json_t *v = mn_json_loadb(body, len, NULL);
  const char *msg = NULL;
  if(v) {
    json_t *root = json_is_array(v) ? json_array_get(v, 0) : v;   /* Gemini streams */
    static const char *const paths[] = {
      "error.message", "error", "message", "detail", "error.msg", "msg", NULL
    };
    for(int i = 0; paths[i] && !msg; i++) {
      msg = mn_json_path_str(root, paths[i]);
      if(msg && !*msg)
        msg = NULL;
    }
  }
  /* a proxy's HTML page (nginx, Cloudflare): its title says it */
  const char *title = !v ? find_ci(body, len, "<title>") : NULL;
  const char *title_end = title ? find_ci(title, len - (size_t)(title - body), "</title>") : NULL;
  char *out = msg ? one_line(msg, strlen(msg))
            : title_end ? one_line(title + 7, (size_t)(title_end - title - 7))
            : one_line(body, len);
  json_decref(v);
  if(!*out) {
    free(out);
    return NULL;
  }
  return out;
}

char *mn_finish_normalise(mn_wire wire, const char *reason)
{
  if(!reason || !*reason)
    return NULL;
  static const struct { const char *from, *to; } map[] = {
    { "end_turn", "stop" }, { "stop_sequence", "stop" },
    { "max_tokens", "length" }, { "tool_use", "tool_calls" },
    { "refusal", "content_filter" },
    { "STOP", "stop" }, { "MAX_TOKENS", "length" },
    { "SAFETY", "content_filter" }, { "RECITATION", "content_filter" },
    { "BLOCKLIST", "content_filter" }, { "PROHIBITED_CONTENT", "content_filter" },
    { "SPII", "content_filter" }, { "IMAGE_SAFETY", "content_filter" },
  };
  for(size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    if(strcmp(reason, map[i].from) == 0)
      return mn_xstrdup(map[i].to);
  }
  char *s = mn_xstrdup(reason);
  if(wire == MN_WIRE_GEMINI) {
    for(char *c = s; *c; c++)
      *c = (char)tolower((unsigned char)*c);
  }
  return s;
}

static int key_char(char c)
{
  return isalnum((unsigned char)c) || c == '-' || c == '_';
}

void mn_scrub_secret(char *msg, const char *secret)
{
  if(!msg)
    return;
  size_t sl = secret ? strlen(secret) : 0;
  if(sl) {
    /* in place, so never longer: a key shorter than "***" (a dummy key
     * for a local server: "x") becomes as many stars; the search goes on
     * after each replacement, so a key of stars cannot loop */
    size_t rl = sl < 3 ? sl : 3;
    char *from = msg, *hit;
    while((hit = strstr(from, secret)) != NULL) {
      memcpy(hit, "***", rl);
      memmove(hit + rl, hit + sl, strlen(hit + sl) + 1);
      from = hit + rl;
    }
  }
  /* key-looking words: "sk-" (OpenAI, Anthropic "sk-ant-", OpenRouter
   * "sk-or-"), "AIza" (Google), "gsk_" (Groq), long enough to be real */
  static const char *const prefixes[] = { "sk-", "AIza", "gsk_", NULL };
  for(char *p = msg; *p; p++) {
    if(p != msg && key_char(p[-1]))
      continue;
    for(int k = 0; prefixes[k]; k++) {
      size_t pl = strlen(prefixes[k]);
      if(strncmp(p, prefixes[k], pl) != 0)
        continue;
      size_t n = pl;
      while(key_char(p[n]) || p[n] == '*')
        n++;
      if(n >= pl + 8) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
      }
      break;
    }
  }
}

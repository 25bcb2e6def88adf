/* Many small documents become fewer, larger ones for MinionS. A folder of
 * 3,000 notes would otherwise make 3,000 chunks per task, over the job cap
 * and mostly wasted calls: documents shorter than half a chunk are joined,
 * in order, into packs of at most one chunk, each file headed by a line
 * naming its path, so the local model still says which file it read. */
#include <stdlib.h>
#include <string.h>

#include "protocol/run_internal.h"
#include "util/buf.h"
#include "util/mem.h"

#define PACK_HEADER "### FILE: "

mn_docs *mn_proto_pack_docs(const mn_docs *docs, size_t chunk_chars, size_t *files_packed)
{
  size_t n = mn_docs_count(docs), small = 0, limit = chunk_chars / 2;
  *files_packed = 0;
  for(size_t i = 0; i < n; i++) {
    size_t len;
    mn_docs_text(docs, i, &len);
    small += len < limit;
  }
  if(small < 2)
    return NULL;
  mn_docs *out = NULL;
  if(mn_docs_new(&out) != MN_OK)
    return NULL;
  mn_buf pack = MN_BUF_INIT(0);
  size_t in_pack = 0, packs = 0;
  const char *first = NULL, *last = NULL;
  for(size_t i = 0; i <= n; i++) {
    size_t len = 0;
    const char *t = i < n ? mn_docs_text(docs, i, &len) : NULL;
    const char *name = i < n ? mn_docs_name(docs, i) : NULL;
    size_t need = t ? strlen(PACK_HEADER) + strlen(name) + 2 + len : 0;
    int is_small = t && len < limit;
    /* close the pack before a large document, at the end, or when full */
    if(in_pack && (!is_small || pack.len + need > chunk_chars)) {
      packs++;
      char *pname = in_pack == 1 ? mn_xstrdup(first)
                                 : mn_xasprintf("pack %zu: %zu files, %s ... %s", packs, in_pack,
                                                first, last);
      mn_docs_add_text(out, pname, pack.data, pack.len);
      free(pname);
      mn_buf_reset(&pack);
      in_pack = 0;
    }
    if(!t)
      break;
    if(!is_small) {
      mn_docs_add_text(out, name, t, len);
      continue;
    }
    if(!in_pack)
      first = name;
    last = name;
    mn_buf_printf(&pack, "%s%s%s\n", pack.len ? "\n" : "", PACK_HEADER, name);
    mn_buf_append(&pack, t, len);
    in_pack++;
    (*files_packed)++;
  }
  mn_buf_free(&pack);
  return out;
}

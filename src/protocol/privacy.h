/* The privacy shield's step that needs a model: the local model reads the
 * text and names the people in it, then the shield (src/privacy/) redacts.
 * Everything that is text in, text out lives in privacy/privacy.h. */
#ifndef MN_PROTOCOL_PRIVACY_H
#define MN_PROTOCOL_PRIVACY_H

#include <jansson.h>

#include "minions.h"
#include "privacy/privacy.h"

/* mn_privacy_find_names() sends text to the local model in pieces of at
 * most this many bytes (cut at line or word ends). */
#define MN_PRIVACY_FIND_CHUNK 8000
/* Most names taken from one reply of the local model. */
#define MN_PRIVACY_MAX_NAMES_PER_REPLY 200

/* Ask the local model of `run` which person names appear in `text` (JSON
 * {"names": [...]} through mn_proto_chat_json on MN_SIDE_LOCAL, in pieces of
 * MN_PRIVACY_FIND_CHUNK bytes) and register the ones that really occur in
 * the text (hallucinated names are dropped). Returns MN_OK, or the run's
 * error code with the run's message set; on error the text must not be
 * sent to the remote. */
int mn_privacy_find_names(mn_privacy *p, mn_run *run, const char *text);

/* Register the names of one reply of the local model (an object whose
 * "names" is an array of strings, or one string) that occur in `text`.
 * Returns how many were new, or MN_ELIMIT. Used by mn_privacy_find_names;
 * public for tests. */
int mn_privacy_take_names(mn_privacy *p, const json_t *reply, const char *text);

/* The usual step before sending a text to the remote: find names in `text`
 * with the local model, then redact it. On MN_OK *out is the redacted text
 * (caller frees); on error *out is NULL and the run's message is set. */
int mn_privacy_protect(mn_privacy *p, mn_run *run, const char *text, char **out);

#endif

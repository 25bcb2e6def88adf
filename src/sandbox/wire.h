/* The framing between the library and its sandbox helper process
 * (minions-sandbox): one request down a socket, one reply back.
 *
 * Both are a sequence of little-endian u64 integers and byte strings (a
 * u64 length, the bytes, then a NUL that is not counted, so a string read
 * in place is a C string; length MN_SBW_NONE is an absent string). A
 * request starts "MNSB", the version and the length of the rest; a reply
 * starts "MNSB" and the version. The field order of each message is
 * written down once, in isolate.c (the library's side) and helper/main.c
 * (the helper's side), which must agree; the version catches a helper
 * from another build.
 *
 * Own code rather than JSON: documents of tens of MB go down as they are,
 * without escaping or a copy, and no string needs parsing to find its end.
 */
#ifndef MN_SANDBOX_WIRE_H
#define MN_SANDBOX_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MN_SBW_MAGIC "MNSB"
#define MN_SBW_VERSION 1u
#define MN_SBW_NONE UINT64_MAX
enum { MN_SBW_PREPARE = 1, MN_SBW_TRANSFORM = 2 };

/* A message being written: integers go into `meta`, strings are referenced
 * where they are (not copied) until mn_sbw_send. */
typedef struct mn_sbw_seg {
  const char *ext;   /* NULL: meta[off, off + len) */
  size_t off, len;
} mn_sbw_seg;

typedef struct mn_sbw {
  mn_buf meta;
  mn_sbw_seg *segs;
  size_t n, cap;
  uint64_t total;    /* bytes of the whole message */
} mn_sbw;

void mn_sbw_init(mn_sbw *w);
void mn_sbw_free(mn_sbw *w);
/* n bytes as they are (copied): the magic. */
void mn_sbw_raw(mn_sbw *w, const void *p, size_t n);
void mn_sbw_u64(mn_sbw *w, uint64_t v);
void mn_sbw_i64(mn_sbw *w, int64_t v);
/* s NULL: an absent string. s must stay valid until mn_sbw_send. */
void mn_sbw_str(mn_sbw *w, const char *s, size_t len);
/* Write the message to fd (blocking or not) before `deadline` (mn_now()
 * seconds; 0: none). MN_OK, MN_ETIMEOUT, or MN_EIO (peer gone). Never
 * raises SIGPIPE on a socket. */
int mn_sbw_send(mn_sbw *w, int fd, double deadline);

/* A message being read from fd. */
typedef struct mn_sbr {
  int fd;
  double deadline;    /* 0: none */
  unsigned char buf[64 * 1024];
  size_t pos, len;
  int err;            /* sticky: MN_ETIMEOUT, MN_EIO (EOF or read error) or
                         MN_EPARSE (a value out of range) */
} mn_sbr;

void mn_sbr_init(mn_sbr *r, int fd, double deadline);
int mn_sbr_u64(mn_sbr *r, uint64_t *v);
int mn_sbr_i64(mn_sbr *r, int64_t *v);
/* A fresh NUL-terminated copy (free it) in *out, or NULL for an absent
 * string; a string longer than max is MN_EPARSE. */
int mn_sbr_str(mn_sbr *r, size_t max, char **out, size_t *len);
/* Exactly n raw bytes (the magic). */
int mn_sbr_raw(mn_sbr *r, void *out, size_t n);

#endif

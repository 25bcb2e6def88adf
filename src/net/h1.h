/* HTTP/1.1 for the transport's direct path (see http.c): plain-http
 * requests to an address given literally (local model servers) are sent on
 * our own sockets instead of through libcurl, which spends some 35 us of
 * CPU per request on them, more than the kernel's send.
 *
 * This file holds the parts that need no socket, so they can be tested byte
 * by byte: which URLs qualify and what they mean, the request head, and an
 * incremental response parser (RFC 9112: status line, headers, bodies
 * framed by Content-Length, chunked coding or the connection's end).
 */
#ifndef MN_NET_H1_H
#define MN_NET_H1_H

#include <stddef.h>
#include <sys/socket.h>

#include "util/buf.h"

/* A URL the direct path can send: http://, no user:password@, and a host
 * that needs no name lookup (an IPv4 or bracketed IPv6 address, or
 * "localhost": 127.0.0.1, and ::1 should that refuse). */
typedef struct mn_h1_url {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  struct sockaddr_storage alt;   /* "localhost": [::1] */
  socklen_t alt_len;             /* 0: none */
  char host[80];        /* the Host header's value: host[:port] as written */
  char *target;         /* path and query, "/" at least; caller frees */
} mn_h1_url;

/* The address url points at, if it needs no name lookup (any scheme's
 * URL). 1 if so, else 0. */
int mn_h1_address(const char *url, struct sockaddr_storage *ss, socklen_t *len);
/* 1 and *u filled (free u->target) if url qualifies, else 0. */
int mn_h1_url_parse(const char *url, mn_h1_url *u);

/* Append the request head: request line, Host, the caller's headers
 * ("Name: value"; "Name:" with no value is dropped and "Name;" sends an
 * empty header, as with curl), Content-Length when a body is sent, and the
 * blank line. */
void mn_h1_request_head(mn_buf *out, const char *method, const mn_h1_url *u,
                        const char *const *headers, int has_body, size_t body_len);

/* The response parser. Limits: a header block (or the trailers) may hold
 * at most MN_H1_HEAD_MAX bytes, a chunk-size line MN_H1_LINE_MAX. */
#define MN_H1_HEAD_MAX (64u * 1024u)
#define MN_H1_LINE_MAX 1024u

typedef enum mn_h1_state {
  MN_H1_HEAD,           /* collecting a header block */
  MN_H1_BODY_LENGTH,    /* Content-Length bytes to go */
  MN_H1_BODY_EOF,       /* body ends when the connection does */
  MN_H1_CHUNK_SIZE,     /* reading a chunk-size line */
  MN_H1_CHUNK_DATA,
  MN_H1_CHUNK_END,      /* the CRLF after a chunk's data */
  MN_H1_TRAILERS,
  MN_H1_DONE
} mn_h1_state;

/* Body bytes, as they arrive. Return 0 to go on, else an MN_E* code that
 * stops the parse (mn_h1_feed returns it). */
typedef int (*mn_h1_body_cb)(void *userdata, const char *data, size_t len);
/* The final (non-1xx) header block is in: status and headers below are
 * set. Same return convention. */
typedef int (*mn_h1_head_cb)(void *userdata);

typedef struct mn_h1_parser {
  mn_h1_state state;
  int head_only;            /* answer to HEAD: no body whatever the headers */
  mn_buf head;              /* header block, chunk-size line or trailers so far */
  unsigned long long left;  /* bytes of the body or the chunk to go */
  int got_bytes;            /* any byte of a response arrived */
  /* from the final header block */
  long status;
  int keep_alive;           /* the connection may carry another request */
  int has_length;
  unsigned long long length;
  char content_type[96];    /* "" if none; cut if longer */
  char retry_after[64];     /* "" if none */
  mn_h1_head_cb on_head;
  mn_h1_body_cb on_body;
  void *userdata;
} mn_h1_parser;

void mn_h1_init(mn_h1_parser *p, mn_h1_head_cb on_head, mn_h1_body_cb on_body,
                void *userdata);
/* Ready for the response to a new request. */
void mn_h1_reset(mn_h1_parser *p, int head_only);
void mn_h1_free(mn_h1_parser *p);

/* Parse n more bytes. Returns 0 (*used = bytes taken; fewer than n only when
 * the response ended, state MN_H1_DONE: the rest was not asked for),
 * MN_EPARSE for a malformed response, MN_ELIMIT for a header block or line
 * over the limits, or a callback's code. */
int mn_h1_feed(mn_h1_parser *p, const char *data, size_t n, size_t *used);
/* The connection ended: 0 if that completes the response (a body that runs
 * to the end), MN_ENET otherwise. */
int mn_h1_eof(mn_h1_parser *p);

#endif

#include "minions.h"

const char *mn_strerror(int code)
{
  switch(code) {
  case MN_OK: return "ok";
  case MN_EINVAL: return "invalid argument";
  case MN_ENOMEM: return "out of memory";
  case MN_EIO: return "input/output error";
  case MN_ENET: return "network error";
  case MN_EHTTP: return "HTTP error";
  case MN_EPARSE: return "parse error";
  case MN_ETIMEOUT: return "timeout";
  case MN_ECANCELLED: return "cancelled";
  case MN_ELIMIT: return "limit reached";
  case MN_ESANDBOX: return "sandbox error";
  case MN_EUNSUPPORTED: return "unsupported";
  case MN_ENOTFOUND: return "not found";
  case MN_EAUTH: return "authentication error";
  case MN_EMODEL: return "unusable model reply";
  case MN_EREFUSED: return "refused by the model or provider";
  default: return "unknown error";
  }
}
